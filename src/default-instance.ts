import fs from 'node:fs';
import os from 'node:os';
import { defaultRegionPath, Metrics, type OpenOptions } from './metrics';

/**
 * The ready-made `metrics` instance auto-creates (a counter on inc/dec, a gauge on set...) so that
 * `metrics.inc('worker.1.requests')` works with no setup; an instance made with Metrics.open() does not,
 * unless asked, so that a typo there is an error.
 *
 * Where it lives: $SHMETRICS_REGION when set (the master CLI sets it for
 * its workers); otherwise a region of this process's own, /dev/shm/shmetrics-<user>-<pid>, which is
 * exported as $SHMETRICS_REGION so that every child process started afterwards (cluster.fork,
 * child_process) shares it, and removed when this process exits.
 */
function defaultOptions(): OpenOptions {
  if (process.env.SHMETRICS_REGION) return { path: process.env.SHMETRICS_REGION, autoCreate: true };
  const path = defaultRegionPath(`${os.userInfo().username}-${process.pid}`);
  process.env.SHMETRICS_REGION = path;
  process.once('exit', () => fs.rmSync(path, { force: true }));
  return { path, autoCreate: true };
}

export const metrics: Metrics = Metrics.lazy(defaultOptions);
