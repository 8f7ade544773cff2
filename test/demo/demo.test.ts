import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { ROOT, startNode } from '../helpers/processes';
import { tempDir } from '../helpers/regions';

const DEMO = path.join(ROOT, 'dist/demo/main.js');

describe('npm start', () => {
  it('runs a master with 2 self-loading HTTP workers and a metrics-dir, prints what to try, stops cleanly, resumes at the next start', async () => {
    const cwd = tempDir('demo');
    const name = `demo-test-${process.pid}`;
    const region = `/dev/shm/shmetrics-${name}`;
    const env = { SHMETRICS_DEMO_SECONDS: '3', SHMETRICS_DEMO_NAME: name, SHMETRICS_DEMO_SNMP: '127.0.0.1:0', SHMETRICS_DEMO_HTTP: '127.0.0.1:0' };
    try {
      const first = startNode(DEMO, [], env, { cwd });
      const curl = await first.waitForLine((line) => line.startsWith('  curl '));
      const port = Number(/127\.0\.0\.1:(\d+)\//.exec(curl)![1]);
      const reply = await fetch(`http://127.0.0.1:${port}/`);
      expect(await reply.text()).toMatch(/^hello from worker [12]\n$/);
      const done = await first.done;
      expect(done.code).toBe(0);
      expect(done.stderr).toContain('shmetrics: stopped');
      const dir = path.join(cwd, 'metrics-dir');
      const served = Number(fs.readFileSync(path.join(dir, 'worker.1.requests'), 'utf8'));
      expect(served).toBeGreaterThan(10);
      expect(fs.readFileSync(path.join(dir, 'system.load1'), 'utf8')).toMatch(/^\d+\n$/);
      expect(fs.readFileSync(path.join(dir, 'loadavg'), 'utf8')).toMatch(/^\d+\n$/);

      // The next start resumes the counts from metrics-dir/ (the region is removed to prove it).
      fs.rmSync(region, { force: true });
      const second = startNode(DEMO, [], { ...env, SHMETRICS_DEMO_SECONDS: '1' }, { cwd });
      await second.waitForLine((line) => line.startsWith('  curl '));
      const viewer = Metrics.open({ path: region, create: false });
      expect(viewer.get('worker.1.requests')).toBeGreaterThanOrEqual(served);
      viewer.close();
      expect((await second.done).code).toBe(0);
    } finally {
      fs.rmSync(region, { force: true });
    }
  }, 30_000);
});
