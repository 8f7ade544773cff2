/**
 * One demo worker: a separate process that updates the demo's region through the ready-made `metrics`
 * instance, which attaches to $SHMETRICS_REGION. No messages carry numbers: the parent reads the region.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { metrics } from '../index';

const id = process.env.SHMETRICS_WORKER_ID;
if (!id) throw new Error('SHMETRICS_WORKER_ID is not set: this module is started by src/demo/main.ts');

const requests = metrics.counter('requests');
const mine = metrics.counter(`worker.${id}.requests`);
const heapUsed = metrics.gauge(`worker.${id}.heap_used`);

let running = true;
// The parent says when to stop; it also stops us when it goes away.
process.on('message', (message) => {
  if (message === 'stop') running = false;
});
process.on('disconnect', () => (running = false));
// Ctrl-C reaches the whole process group. Ignore it and let the parent stop us between two requests, so
// that `requests` always equals the sum of the per-worker counters.
process.on('SIGINT', () => {});

async function serve(): Promise<void> {
  while (running) {
    requests.inc();
    mine.inc();
    heapUsed.set(process.memoryUsage().heapUsed);
    await sleep(1 + Math.random() * 9);
  }
  metrics.close();
  if (process.connected) process.disconnect();
}

void serve();
