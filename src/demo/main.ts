/**
 * `npm start`: three worker processes count requests in one region of their own, with no IPC for the
 * numbers; this process shows the region once a second with the table `shmetrics ls` prints. Runs for
 * $SHMETRICS_DEMO_SECONDS (default 10) or until Ctrl-C, then checks that no increment was lost and
 * removes the region.
 */

import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatMetricTable } from '../cli/format';
import { Metrics } from '../metrics';

const WORKER_IDS = [1, 2, 3];
/** A worker stops within one of its sleeps (at most 10 ms); this is only a guard against a hung one. */
const STOP_TIMEOUT_MS = 5_000;

function demoSeconds(): number {
  const text = process.env.SHMETRICS_DEMO_SECONDS ?? '10';
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`SHMETRICS_DEMO_SECONDS ${JSON.stringify(text)} must be a positive number of seconds`);
  }
  return seconds;
}

interface Worker {
  readonly id: number;
  /** Asks the worker to finish its current request and exit; resolves once it has. */
  stop(): Promise<void>;
}

/** Forks a worker on the region; `onFailure` is told if it exits before being asked to, or not with 0. */
function startWorker(id: number, regionPath: string, onFailure: (why: string) => void): Worker {
  const child = fork(path.join(__dirname, 'worker.js'), [], {
    env: { ...process.env, SHMETRICS_REGION: regionPath, SHMETRICS_WORKER_ID: String(id) },
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      if (!stopping || code !== 0) onFailure(`worker ${id} exited with ${code ?? signal}`);
      resolve();
    }),
  );
  return {
    id,
    async stop() {
      stopping = true;
      if (child.connected) child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function runDemo(): Promise<number> {
  const seconds = demoSeconds();
  const regionPath = `/dev/shm/shmetrics-demo-${process.pid}`;
  const cli = path.relative(process.cwd(), path.join(__dirname, '..', 'cli', 'main.js'));
  const stop = new AbortController();
  let failure: string | undefined;
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const metrics = Metrics.open({ path: regionPath, create: true });
  try {
    // Defined before the workers start (they would define them too) so that the table's order is fixed.
    metrics.counter('requests');
    for (const id of WORKER_IDS) {
      metrics.counter(`worker.${id}.requests`);
      metrics.gauge(`worker.${id}.heap_used`);
    }
    const workers = WORKER_IDS.map((id) =>
      startWorker(id, regionPath, (why) => {
        failure ??= why;
        stop.abort();
      }),
    );

    const startedAt = Date.now();
    const deadline = startedAt + seconds * 1000;
    while (!stop.signal.aborted && Date.now() < deadline) {
      await sleep(Math.min(1000, deadline - Date.now()), undefined, { signal: stop.signal }).catch(() => undefined);
      if (process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
      const elapsed = ((Date.now() - startedAt) / 1000).toFixed(0);
      console.log(`shmetrics demo: ${WORKER_IDS.length} worker processes updating ${regionPath} (${elapsed}s of ${seconds}s; Ctrl-C stops)`);
      console.log('Inspect it from another terminal:');
      console.log(`  node ${cli} ls --region ${regionPath}`);
      console.log('');
      for (const line of formatMetricTable(metrics.snapshot())) console.log(line);
      console.log('');
    }

    await Promise.all(workers.map((worker) => worker.stop()));
    if (failure) {
      console.error(`shmetrics demo: ${failure}`);
      return 1;
    }
    console.log(`Stopped the ${workers.length} workers.`);
    const total = metrics.getBigInt('requests');
    const parts = WORKER_IDS.map((id) => metrics.getBigInt(`worker.${id}.requests`));
    const sum = parts.reduce((a, b) => a + b, 0n);
    const terms = WORKER_IDS.map((id, i) => `${parts[i]} (worker.${id}.requests)`).join(' + ');
    if (total !== sum) {
      console.error(`shmetrics demo: requests = ${total}, but ${terms} = ${sum}`);
      return 1;
    }
    console.log(`requests = ${total} = ${terms}: every increment of every process counted once`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    metrics.close();
    fs.rmSync(regionPath, { force: true });
    console.log(`Removed ${regionPath}.`);
  }
}

runDemo().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    console.error(`shmetrics demo: ${error.message}`);
    process.exitCode = 1;
  },
);
