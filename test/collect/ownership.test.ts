import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { startNode, type Running } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';
import { eventually, sleep } from './helpers';

const COLLECTOR = path.join(__dirname, 'workers/collector.js');

function collector(region: string, mode: 'owner' | 'standby', blockSeconds?: number): Running {
  return startNode(COLLECTOR, [region, mode, ...(blockSeconds ? [String(blockSeconds)] : [])]);
}

const json = (line: string) => JSON.parse(line) as { type: string; [key: string]: unknown };
const isEvent = (type: string) => (line: string) => line.startsWith('{') && json(line).type === type;

/** A region with a file-collected metric that follows a counter this test writes every 100 ms. */
function movingRegion() {
  const file = tempRegionPath('own');
  const source = path.join(tempDir('own'), 'ticks');
  let ticks = 0;
  fs.writeFileSync(source, '0\n');
  const timer = setInterval(() => fs.writeFileSync(source, `${++ticks}\n`), 100);
  const m = Metrics.open({ path: file });
  m.define(`name=moving,type=gauge,collector=file,arg1=${source}`);
  return { file, m, stop: () => clearInterval(timer) };
}

describe('who collects', () => {
  it('exactly one owner: a second process asking to collect is refused, naming the first', async () => {
    const { file, m, stop } = movingRegion();
    const owner = collector(file, 'owner');
    const { pid } = json(await owner.waitForLine(isEvent('collecting')));
    const second = collector(file, 'owner');
    const refused = json(await second.waitForLine(isEvent('error')));
    expect(refused.message).toBe(`${file}: already collected by process ${pid} (open as a standby to take over when it stops)`);
    expect((await second.done).code).toBe(3);
    expect(m.info().collectorPid).toBe(pid);
    owner.child.kill('SIGKILL');
    await owner.done;
    stop();
    m.close();
  });

  it('collection goes on while the owner\'s JavaScript event loop is blocked for 3 s', async () => {
    const { file, m, stop } = movingRegion();
    const owner = collector(file, 'owner', 3);
    await owner.waitForLine(isEvent('blocking'));
    const during: number[] = [];
    const started = Date.now();
    while (Date.now() - started < 2500) {
      during.push(m.get('moving'));
      await sleep(250);
    }
    expect(new Set(during).size).toBeGreaterThanOrEqual(2); // it moved at least once per second
    expect(owner.child.exitCode).toBe(null);
    await owner.waitForLine(isEvent('unblocked'));
    owner.child.kill('SIGKILL');
    await owner.done;
    stop();
    m.close();
  });

  it('when the owner is killed with SIGKILL, a standby takes over within 2 s and values keep moving', async () => {
    const { file, m, stop } = movingRegion();
    const owner = collector(file, 'owner');
    await owner.waitForLine(isEvent('collecting'));
    const standby = collector(file, 'standby');
    const { pid: standbyPid } = json(await standby.waitForLine(isEvent('started')));
    await sleep(500);
    expect(standby.child.exitCode).toBe(null);
    const killedAt = Date.now();
    owner.child.kill('SIGKILL');
    const took = json(await standby.waitForLine(isEvent('collecting'), 2000));
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(took).toMatchObject({ tookOver: true, pid: standbyPid });
    expect(m.info().collectorPid).toBe(standbyPid);
    expect(m.info().collectorTakeovers).toBe(1);
    const before = m.get('moving');
    await eventually(() => m.get('moving'), (v) => v > before, 2500);
    standby.child.kill('SIGKILL');
    await Promise.all([owner.done, standby.done]);
    stop();
    m.close();
  });

  it('an owner that closes gives the lock back: the standby takes over at once', async () => {
    const file = tempRegionPath('handover');
    const first = Metrics.open({ path: file, collect: true });
    const standby = Metrics.open({ path: file, collect: 'standby' });
    const tookOver = new Promise<boolean>((resolve) => standby.once('collecting', (e) => resolve(e.tookOver)));
    await sleep(300);
    first.close();
    expect(await tookOver).toBe(false); // a clean handover, not a takeover from a dead owner
    expect(standby.info().collectorPid).toBe(process.pid);
    standby.close();
  });
});
