import fs from 'node:fs';
import path from 'node:path';
import { afterEach } from 'vitest';
import { Metrics, type OpenOptions } from '../../src';

const created = new Set<string>();

/** A fresh region path under /dev/shm, removed after the test. */
export function tempRegionPath(label: string): string {
  const file = `/dev/shm/shmetrics-test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  created.add(file);
  return file;
}

/** A fresh directory under the OS temp dir, removed after the test. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), `shmetrics-${label}-`));
  created.add(dir);
  return dir;
}

const opened: Metrics[] = [];

/** A region at a fresh path, opened (created), closed and removed after the test. */
export function openTempRegion(label: string, options: OpenOptions = {}): Metrics {
  const m = Metrics.open({ path: tempRegionPath(label), ...options });
  opened.push(m);
  return m;
}

afterEach(() => {
  for (const m of opened.splice(0)) m.close();
  for (const file of created) fs.rmSync(file, { force: true, recursive: true });
  created.clear();
});
