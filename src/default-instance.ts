import fs from 'node:fs';
import os from 'node:os';
import { defaultRegionPath, Metrics, type OpenOptions } from './metrics';

/**
 * Where the ready-made `metrics` instance lives: $SHMETRICS_REGION when set (the master CLI sets it for
 * its workers); otherwise a region of this process's own, /dev/shm/shmetrics-<user>-<pid>, which is
 * exported as $SHMETRICS_REGION so that every child process started afterwards (cluster.fork,
 * child_process) shares it, and removed when this process exits.
 */
function defaultOptions(): OpenOptions {
  if (process.env.SHMETRICS_REGION) return { path: process.env.SHMETRICS_REGION };
  const path = defaultRegionPath(`${os.userInfo().username}-${process.pid}`);
  process.env.SHMETRICS_REGION = path;
  process.once('exit', () => fs.rmSync(path, { force: true }));
  return { path };
}

export const metrics: Metrics = Metrics.lazy(defaultOptions);
