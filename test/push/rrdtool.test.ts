import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { PushSpecError } from '../../src/errors';
import { createRrdtoolPusher, parseRrdtoolArgs, RRD_ARCHIVES, rrdDataSource, RrdtoolPusher } from '../../src/push/rrdtool';
import { commandExists, missingPeer } from '../helpers/peers';
import { tempPeerDir } from './peers/daemon';
import { longestTurnDuring, manyMetrics, recordingContext, sleep, snapshot, syncCostOf, until } from './peers/pusher-harness';

const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** rrdtool run by the test itself, on the files directly (never through an rrdcached from the environment). */
async function rrdtool(...args: string[]): Promise<string> {
  const env = { ...process.env };
  delete env.RRDCACHED_ADDRESS;
  return (await run('rrdtool', args, { env })).stdout;
}

/** `rrdtool info` as key → value. */
async function info(file: string): Promise<Map<string, string>> {
  const lines = (await rrdtool('info', file)).trim().split('\n');
  return new Map(lines.map((line) => line.split(' = ') as [string, string]));
}

/** `rrdtool fetch FILE AVERAGE` rows as [end of interval, value or null]. */
async function fetchAverage(file: string, start: number, end: number): Promise<[number, number | null][]> {
  const out = await rrdtool('fetch', file, 'AVERAGE', '--start', String(start), '--end', String(end));
  return out
    .split('\n')
    .filter((line) => /^\d+: /.test(line))
    .map((line) => {
      const [time, value] = line.split(': ');
      return [Number(time), /nan/i.test(value) ? null : Number(value)];
    });
}

function scratchDir(): string {
  const dir = tempPeerDir('rrd');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function rrd(args: string, instance = 'rrdtool') {
  const context = recordingContext(instance);
  const pusher = createRrdtoolPusher(args, context) as RrdtoolPusher;
  cleanups.push(() => pusher.close());
  return { pusher, context };
}

/** A fake rrdtool: a shell script in `dir`. */
function fakeRrdtool(dir: string, script: string): string {
  const file = path.join(dir, 'fake-rrdtool');
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return file;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('rrdtool arguments', () => {
  it('takes DIR (resolved), then step, rrdtool, timeout, retry_delay, max_queue; step 300 by default as in uWSGI', () => {
    expect(parseRrdtoolArgs('/var/lib/rrd')).toEqual({
      dir: '/var/lib/rrd',
      stepSeconds: 300,
      command: 'rrdtool',
      timeoutSeconds: 60,
      retryDelaySeconds: 30,
      maxQueueBytes: 8 * 1024 * 1024,
    });
    expect(parseRrdtoolArgs('rrd,step=1,rrdtool=/opt/bin/rrdtool,timeout=5,retry_delay=2,max_queue=512k')).toEqual({
      dir: path.resolve('rrd'),
      stepSeconds: 1,
      command: '/opt/bin/rrdtool',
      timeoutSeconds: 5,
      retryDelaySeconds: 2,
      maxQueueBytes: 512 * 1024,
    });
  });

  it.each([
    ['', 'rrdtool:DIR'],
    ['step=1', 'rrdtool:DIR'],
    ['/d,step=0', 'step="0"'],
    ['/d,step=1.5', 'step="1.5"'],
    ['/d,bogus=1', 'unknown item "bogus"'],
    ['/d,extra', 'unknown item "extra"'],
    ['/d,timeout=x', 'timeout="x"'],
    ['/d,rrdtool=', 'rrdtool= needs a command'],
    ['/d,max_queue=0', 'max_queue="0"'],
  ])('refuses %j with a PushSpecError naming the value', (args, named) => {
    const attempt = () => createRrdtoolPusher(args, recordingContext('rrdtool'));
    expect(attempt).toThrow(PushSpecError);
    expect(attempt).toThrow(named);
  });

  it('makes rates of counters (DERIVE, min 0) and levels of gauges and absolutes (GAUGE, min U)', () => {
    expect(rrdDataSource('counter', 300)).toBe('DS:metric:DERIVE:600:0:U');
    expect(rrdDataSource('alias', 300)).toBe('DS:metric:DERIVE:600:0:U');
    expect(rrdDataSource('gauge', 300)).toBe('DS:metric:GAUGE:600:U:U');
    expect(rrdDataSource('absolute', 10)).toBe('DS:metric:GAUGE:20:U:U');
    expect(RRD_ARCHIVES).toEqual(['RRA:AVERAGE:0.5:1:288', 'RRA:AVERAGE:0.5:12:168', 'RRA:AVERAGE:0.5:288:31', 'RRA:AVERAGE:0.5:2016:52']);
  });
});

const noRrdtool = missingPeer('rrdtool', commandExists('rrdtool'));

describe.skipIf(noRrdtool)('rrdtool files, read back with rrdtool info and fetch', () => {
  it('creates one file per metric at its first push, with uWSGI\'s archives, DERIVE for counters and GAUGE (min U) for gauges and absolutes', async () => {
    const dir = scratchDir();
    const { pusher, context } = rrd(`${dir},step=1`);
    pusher.push(snapshot([['hits', 'counter', 5], ['g1', 'gauge', -42], ['ab', 'absolute', 1]]));
    await until('rrdtool to answer', async () => pusher.pendingCommands === 0, 5000);
    expect(fs.readdirSync(dir).sort()).toEqual(['ab.rrd', 'g1.rrd', 'hits.rrd']);
    const expected = { counter: ['DERIVE', '0.0000000000e+00'], gauge: ['GAUGE', 'NaN'], absolute: ['GAUGE', 'NaN'] };
    for (const [name, type] of [['hits', 'counter'], ['g1', 'gauge'], ['ab', 'absolute']] as const) {
      const fields = await info(path.join(dir, `${name}.rrd`));
      expect(fields.get('step')).toBe('1');
      expect(fields.get('ds[metric].type')).toBe(`"${expected[type][0]}"`);
      expect(fields.get('ds[metric].min')).toBe(expected[type][1]);
      expect(fields.get('ds[metric].max')).toBe('NaN');
      expect(fields.get('ds[metric].minimal_heartbeat')).toBe('2');
      for (const [i, [rows, perRow]] of [[288, 1], [168, 12], [31, 288], [52, 2016]].entries()) {
        expect(fields.get(`rra[${i}].cf`)).toBe('"AVERAGE"');
        expect(fields.get(`rra[${i}].rows`)).toBe(String(rows));
        expect(fields.get(`rra[${i}].pdp_per_row`)).toBe(String(perRow));
      }
    }
    expect((await info(path.join(dir, 'g1.rrd'))).get('ds[metric].last_ds')).toBe('"-42"');
    expect(context.logs).toEqual([]);
  });

  it('stores negative gauges (uWSGI\'s min 0 made them unknown), rates of counters, absolutes as they are', async () => {
    const dir = scratchDir();
    const { pusher, context } = rrd(`${dir},step=1`);
    const start = Math.floor(Date.now() / 1000) - 100;
    const pushes: [number, number, number][] = [[-42, 100, 7], [-40, 150, 7], [-38, 250, 9]];
    pushes.forEach(([gauge, counter, absolute], i) =>
      pusher.push(snapshot([['g1', 'gauge', gauge], ['hits', 'counter', counter], ['ab', 'absolute', absolute]], (start + 1 + i) * 1000)),
    );
    await until('rrdtool to answer', async () => pusher.pendingCommands === 0, 5000);
    expect(await fetchAverage(path.join(dir, 'g1.rrd'), start, start + 3)).toEqual([[start + 1, -42], [start + 2, -40], [start + 3, -38], [start + 4, null]]);
    expect(await fetchAverage(path.join(dir, 'hits.rrd'), start, start + 3)).toEqual([[start + 1, null], [start + 2, 50], [start + 3, 100], [start + 4, null]]);
    expect(await fetchAverage(path.join(dir, 'ab.rrd'), start, start + 3)).toEqual([[start + 1, 7], [start + 2, 7], [start + 3, 9], [start + 4, null]]);
    expect(context.logs).toEqual([]);
  });

  it('keeps a file that exists (no overwrite), creates the file of a metric that appears later, and again one deleted meanwhile', async () => {
    const dir = scratchDir();
    const start = Math.floor(Date.now() / 1000) - 100;
    await rrdtool('create', path.join(dir, 'old.rrd'), '--start', String(start), '--step', '5', 'DS:metric:GAUGE:10:U:U', 'RRA:LAST:0.5:1:10');
    const { pusher, context } = rrd(`${dir},step=1`);
    pusher.push(snapshot([['old', 'gauge', 1]], (start + 10) * 1000));
    pusher.push(snapshot([['old', 'gauge', 2], ['late', 'counter', 3]], (start + 20) * 1000));
    await until('rrdtool to answer', async () => pusher.pendingCommands === 0, 5000);
    expect((await info(path.join(dir, 'old.rrd'))).get('step')).toBe('5');
    expect((await info(path.join(dir, 'old.rrd'))).get('ds[metric].last_ds')).toBe('"2"');
    expect((await info(path.join(dir, 'late.rrd'))).get('ds[metric].last_ds')).toBe('"3"');

    // The update that finds no file makes the next push create it again.
    fs.rmSync(path.join(dir, 'late.rrd'));
    pusher.push(snapshot([['old', 'gauge', 3], ['late', 'counter', 4]], (start + 30) * 1000));
    await until('rrdtool to answer', async () => pusher.pendingCommands === 0, 5000);
    pusher.push(snapshot([['old', 'gauge', 4], ['late', 'counter', 5]], (start + 40) * 1000));
    await until('the file again', async () => fs.existsSync(path.join(dir, 'late.rrd')) && pusher.pendingCommands === 0, 5000);
    expect((await info(path.join(dir, 'late.rrd'))).get('ds[metric].last_ds')).toBe('"5"');
    expect(context.matching(/1 commands failed, first update late\.rrd: opening '\.\/late\.rrd': No such file or directory/)).toHaveLength(1);
    expect(context.matching(/a push succeeded again/)).toHaveLength(1);
  });

  it('logs failing updates once per change of state, not once per push', async () => {
    const dir = scratchDir();
    const { pusher, context } = rrd(`${dir},step=1`);
    const now = Math.floor(Date.now() / 1000);
    pusher.push(snapshot([['a', 'gauge', 1], ['b', 'gauge', 1]], now * 1000));
    // Three pushes from a clock that went back: every update is refused.
    for (let i = 1; i <= 3; i++) pusher.push(snapshot([['a', 'gauge', 2], ['b', 'gauge', 2]], (now - 60 + i) * 1000));
    pusher.push(snapshot([['a', 'gauge', 3], ['b', 'gauge', 3]], (now + 1) * 1000));
    await until('rrdtool to answer', async () => pusher.pendingCommands === 0, 5000);
    expect(context.logs).toEqual([
      expect.stringMatching(/2 commands failed, first update a\.rrd: \.\/a\.rrd: illegal attempt to update using time \d+ when last update time is \d+/),
      expect.stringMatching(/a push succeeded again \(6 updates failed meanwhile\)/),
    ]);
  });

  it('restarts an rrdtool that was killed, logs it once, and the next pushes land', async () => {
    const dir = scratchDir();
    const { pusher, context } = rrd(`${dir},step=1,retry_delay=0.5`);
    const now = Math.floor(Date.now() / 1000);
    pusher.push(snapshot([['g', 'gauge', 1]], (now - 10) * 1000));
    await until('rrdtool to answer', async () => pusher.pendingCommands === 0, 5000);
    const first = pusher.pid!;
    process.kill(first, 'SIGKILL');
    await until('the death to be noticed', async () => context.logs.length === 1, 2000);
    expect(context.logs[0]).toMatch(/rrdtool was killed by SIGKILL; queueing up to 8 MiB, retrying with backoff/);
    pusher.push(snapshot([['g', 'gauge', 2]], (now - 9) * 1000));
    pusher.push(snapshot([['g', 'gauge', 3]], (now - 8) * 1000));
    await until('the update', async () => pusher.pendingCommands === 0 && fs.existsSync(path.join(dir, 'g.rrd')), 5000);
    expect((await info(path.join(dir, 'g.rrd'))).get('ds[metric].last_ds')).toBe('"3"');
    expect(pusher.pid).not.toBe(first);
    expect(context.logs[1]).toMatch(/rrdtool answers again after [\d.]+ s/);
    expect(context.logs).toHaveLength(2);
  });

  it('close() does the queued updates and ends rrdtool', async () => {
    const dir = scratchDir();
    const { pusher, context } = rrd(`${dir},step=1`);
    const now = Math.floor(Date.now() / 1000);
    pusher.push(manyMetrics(500, (now - 5) * 1000));
    await until('rrdtool to run', async () => pusher.pid !== undefined, 2000);
    const pid = pusher.pid!;
    await pusher.close();
    expect(alive(pid)).toBe(false);
    expect(fs.readdirSync(dir)).toHaveLength(500);
    expect((await info(path.join(dir, 'app.worker.499.requests.rrd'))).get('ds[metric].last_ds')).toBe(`"${499 * 123_456_789}"`);
    expect(context.logs).toEqual([]);
  });
});

describe('rrdtool missing, hung or dying', () => {
  it('a missing rrdtool is logged once, the queue stays under its cap and the drops are counted', async () => {
    const dir = scratchDir();
    const { pusher, context } = rrd(`${dir},rrdtool=/nonexistent/rrdtool,retry_delay=0.5,max_queue=16k`);
    let pushed = 0;
    for (let i = 0; i < 20; i++) {
      pusher.push(manyMetrics(20, 1795268400_000 + i * 1000));
      pushed += 20;
      await sleep(20);
      expect(pusher.queuedBytes).toBeLessThanOrEqual(16 * 1024);
    }
    expect(context.droppedTotal()).toBeGreaterThan(0);
    expect(context.droppedTotal()).toBeLessThan(pushed);
    expect(context.logs).toEqual([
      expect.stringMatching(/cannot run "\/nonexistent\/rrdtool" \(ENOENT\); queueing up to 16 KiB, retrying with backoff \(at most every 0\.5 s\)/),
      expect.stringMatching(/queue full \(16 KiB\): dropping the oldest updates/),
    ]);
  });

  it('an rrdtool that reads nothing: the queue stays under its cap, the drops are counted, it is killed after timeout and started again', async () => {
    const dir = scratchDir();
    const fake = fakeRrdtool(dir, 'exec sleep 1000');
    const { pusher, context } = rrd(`${path.join(dir, 'rrd')},rrdtool=${fake},timeout=0.3,retry_delay=0.5,max_queue=64k`);
    for (let i = 0; i < 30; i++) {
      pusher.push(manyMetrics(500, 1795268400_000 + i * 1000));
      await sleep(10);
      expect(pusher.queuedBytes).toBeLessThanOrEqual(64 * 1024);
    }
    const first = pusher.pid!;
    await until('a second rrdtool', async () => pusher.pid !== undefined && pusher.pid !== first, 3000);
    expect(alive(first)).toBe(false);
    expect(context.droppedTotal()).toBeGreaterThan(0);
    expect(context.matching(/dropping the oldest updates/)).toHaveLength(1);
    expect(context.matching(/rrdtool answered nothing for 0\.3 s and was killed/)).toHaveLength(1);
  });

  it('an rrdtool that exits at once is restarted with growing delays and logged once', async () => {
    const dir = scratchDir();
    const starts = path.join(dir, 'starts');
    const fake = fakeRrdtool(dir, `echo x >> '${starts}'; echo "broken" >&2; exit 3`);
    const { pusher, context } = rrd(`${path.join(dir, 'rrd')},rrdtool=${fake},retry_delay=1`);
    for (let i = 0; i < 16; i++) {
      pusher.push(manyMetrics(10));
      await sleep(100);
    }
    // A push every 0.1 s, but starts at 0, 0.25, 0.75 (+0.5), 1.75 (+1, the cap): 3 or 4 in 1.6 s, not 16.
    const count = fs.readFileSync(starts, 'utf8').split('\n').length - 1;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(5);
    expect(context.matching(/rrdtool exited with code 3 \(broken\)/)).toHaveLength(1);
  });
});

describe('rrdtool and the event loop', () => {
  it('the synchronous part of a push of 10,000 metrics is under 5 ms, and no turn is busy for 5 ms until every command is answered', async () => {
    // A stand-in that answers every command line with "OK" at once: the pusher's side (formatting, writing
    // 10,000 create and update commands, reading 10,000 answers) is the same as with rrdtool, without the
    // seconds a real one spends creating 10,000 files on a busy disk.
    const dir = scratchDir();
    const fake = fakeRrdtool(
      dir,
      `exec '${process.execPath}' -e 'process.stdin.on("data", (c) => { let n = 0; for (const b of c) if (b === 10) n++; process.stdout.write("OK u:0.00 s:0.00 r:0.00\\n".repeat(n)); })'`,
    );
    const costs: number[] = [];
    const report: string[] = [];
    let best = Infinity;
    for (let attempt = 0; attempt < 3 && best >= 5; attempt++) {
      const { pusher, context } = rrd(`${path.join(dir, `rrd${attempt}`)},rrdtool=${fake}`);
      // Starting the child is a synchronous fork in Node (1-8 ms here): once per rrdtool, not per push.
      pusher.push(snapshot([['warm.up', 'gauge', 1]]));
      await until('rrdtool to run', async () => pusher.pendingCommands === 0, 5000);
      let worst = 0;
      // The first push creates 10,000 files; the next ones update them.
      for (let cycle = 0; cycle < 4; cycle++) {
        const data = manyMetrics(10_000);
        const turns = await longestTurnDuring(async () => {
          costs.push(await syncCostOf(() => pusher.push(data)));
          await until('every answer', async () => pusher.pendingCommands === 0, 10_000, 1);
        });
        worst = Math.max(worst, turns.longestBusyTurnMs);
        report.push(`${turns.longestTurnMs.toFixed(2)} (gc ${turns.longestGcMs.toFixed(2)})`);
      }
      expect(context.logs).toEqual([]);
      best = Math.min(best, worst);
    }
    console.log(
      `rrdtool, 10,000 metrics: synchronous part ${costs.map((ms) => ms.toFixed(2)).join(' / ')} ms; longest turn ${report.join(' / ')} ms; longest busy turn ${best.toFixed(2)} ms`,
    );
    expect(Math.max(...costs)).toBeLessThan(5);
    expect(best).toBeLessThan(5);
  });
});
