import { spawn, type ChildProcess } from 'node:child_process';

export interface WorkerPoolOptions {
  command: readonly string[];
  processes: number;
  /** Environment of every worker; SHMETRICS_WORKER_ID is added per worker. */
  env: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when a worker is stopped. */
  stopTimeoutSeconds: number;
  log: (message: string) => void;
  /** Called after worker `id` was started again (not the first time). */
  onRespawn: (id: number) => void;
}

/** A worker that lived this long counts as healthy: its next crash restarts it without delay. */
const HEALTHY_MS = 10_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;

interface Worker {
  id: number;
  child?: ChildProcess;
  startedAt: number;
  delayMs: number;
  restartTimer?: NodeJS.Timeout;
  exited?: Promise<void>;
}

/**
 * The master's workers: N copies of a command, each told its id (SHMETRICS_WORKER_ID, 1..N). A worker
 * that dies is started again after a delay that doubles while it keeps dying young (0.1 s up to 10 s)
 * and resets once it has lived 10 s. Metrics live in the region, not in the workers, so nothing counted
 * is lost when one dies.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {
    for (let id = 1; id <= options.processes; id++) this.workers.push({ id, startedAt: 0, delayMs: 0 });
  }

  start(): void {
    for (const worker of this.workers) this.launch(worker);
  }

  pids(): number[] {
    return this.workers.flatMap((w) => (w.child?.pid ? [w.child.pid] : []));
  }

  /** SIGHUP: replaces the workers one at a time, so the service keeps running and no count is lost. */
  async reload(): Promise<void> {
    for (const worker of this.workers) {
      if (this.stopping) return;
      await this.stopOne(worker);
      if (this.stopping) return;
      worker.delayMs = 0;
      this.launch(worker);
      this.options.onRespawn(worker.id);
    }
  }

  /** SIGTERM to every worker; SIGKILL to those still running after the timeout. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => this.stopOne(w)));
  }

  private launch(worker: Worker): void {
    const [file, ...args] = this.options.command;
    const child = spawn(file, args, {
      env: { ...this.options.env, SHMETRICS_WORKER_ID: String(worker.id) },
      stdio: 'inherit',
    });
    worker.child = child;
    worker.startedAt = Date.now();
    worker.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.options.log(`worker ${worker.id}: cannot start ${JSON.stringify(file)}: ${error.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        resolve();
        if (worker.child !== child || this.stopping) return;
        worker.child = undefined;
        this.options.log(`worker ${worker.id} (pid ${child.pid}) exited with ${signal ?? `code ${code}`}`);
        this.scheduleRestart(worker);
      });
    });
  }

  private scheduleRestart(worker: Worker): void {
    const lived = Date.now() - worker.startedAt;
    worker.delayMs = lived >= HEALTHY_MS ? 0 : Math.min(MAX_DELAY_MS, Math.max(FIRST_DELAY_MS, worker.delayMs * 2));
    worker.restartTimer = setTimeout(() => {
      worker.restartTimer = undefined;
      if (this.stopping) return;
      this.launch(worker);
      this.options.onRespawn(worker.id);
    }, worker.delayMs);
  }

  private async stopOne(worker: Worker): Promise<void> {
    if (worker.restartTimer) clearTimeout(worker.restartTimer);
    worker.restartTimer = undefined;
    const child = worker.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    worker.child = undefined;
    child.kill('SIGTERM');
    const kill = setTimeout(() => {
      this.options.log(`worker ${worker.id} (pid ${child.pid}) did not stop within ${this.options.stopTimeoutSeconds} s: SIGKILL`);
      child.kill('SIGKILL');
    }, this.options.stopTimeoutSeconds * 1000);
    await worker.exited;
    clearTimeout(kill);
  }
}
