import { startWorkerReporter } from './builtins';
import { metrics } from './default-instance';

/**
 * In a worker the master started (SHMETRICS_WORKER_ID and SHMETRICS_MASTER_PID set, and this process a
 * direct child of that master): report this worker's built-in figures (memory, heap, event-loop lag...)
 * into the region through the ready-made `metrics`, and exit when the master is gone, as uWSGI workers
 * do, instead of serving on as orphans nobody counts. Runs when the package is first loaded.
 */
export function startWorkerRuntime(env: NodeJS.ProcessEnv = process.env): void {
  const worker = Number(env.SHMETRICS_WORKER_ID);
  const master = Number(env.SHMETRICS_MASTER_PID);
  if (!Number.isInteger(worker) || worker < 1 || !Number.isInteger(master)) return;
  if (process.ppid !== master) {
    // Either a process the worker started (it inherited the environment: leave it alone while the master
    // lives), or a worker whose master died between spawning it and this line: that one must not run on.
    if (!isAlive(master)) masterGone(worker, master);
    return;
  }
  try {
    startWorkerReporter(metrics, worker);
  } catch (error) {
    process.stderr.write(`shmetrics: worker ${worker}: cannot report its metrics: ${(error as Error).message}\n`);
  }
  const watch = setInterval(() => {
    if (process.ppid !== master) masterGone(worker, master);
  }, 1000);
  watch.unref();
}

function masterGone(worker: number, master: number): never {
  process.stderr.write(`shmetrics: worker ${worker}: master ${master} is gone, exiting\n`);
  process.exit(1);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
