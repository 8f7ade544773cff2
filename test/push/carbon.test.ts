import dns from 'node:dns';
import os from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PushSpecError } from '../../src/errors';
import { CarbonPusher, createCarbonPusher, parseCarbonArgs } from '../../src/push/carbon';
import { missingPeer } from '../helpers/peers';
import { carbonAvailable, startCarbon, type CarbonPeer } from './peers/carbon';
import { startBlackHole, startTcpCapture, type TcpCapture } from './peers/capture';
import { freePort } from './peers/daemon';
import { longestTurnDuring, manyMetrics, recordingContext, sleep, snapshot, syncCostOf, until } from './peers/pusher-harness';

const LINE = /^[A-Za-z0-9._-]+ -?\d+ \d+$/;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function carbon(args: string, instance = 'carbon') {
  const context = recordingContext(instance);
  const pusher = createCarbonPusher(args, context) as CarbonPusher;
  cleanups.push(() => pusher.close());
  return { pusher, context };
}

async function capture(options: Parameters<typeof startTcpCapture>[0] = {}): Promise<TcpCapture> {
  const peer = await startTcpCapture(options);
  cleanups.push(() => peer.close());
  return peer;
}

describe('carbon arguments', () => {
  it('maps uWSGI\'s --carbon options onto keys: a bare root, id, hostname, hostname_dots, timeout, retry_delay', () => {
    const args = '127.0.0.1:2003,stats,id=my:app,hostname=vm.example.com,hostname_dots=_,timeout=0.5,retry_delay=2,max_queue=64k';
    expect(parseCarbonArgs(args)).toEqual({
      host: '127.0.0.1',
      port: 2003,
      root: 'stats',
      hostname: 'vm_example_com',
      id: 'my_app',
      timeoutSeconds: 0.5,
      retryDelaySeconds: 2,
      maxQueueBytes: 65536,
    });
    expect(parseCarbonArgs('[::1]:2003,root=a.b')).toMatchObject({ host: '::1', port: 2003, root: 'a.b' });
  });

  it('defaults to root "shmetrics", this machine\'s hostname with its dots, no id level, 3 s timeout, 8 MiB queue', () => {
    const options = parseCarbonArgs('localhost:2003');
    expect(options).toMatchObject({ root: 'shmetrics', id: '', timeoutSeconds: 3, retryDelaySeconds: 30, maxQueueBytes: 8 * 1024 * 1024 });
    expect(options.hostname).toBe(os.hostname().replace(/[^A-Za-z0-9._-]/g, '_'));
    expect(new CarbonPusher(parseCarbonArgs('h:1,hostname=vm'), recordingContext('carbon')).base).toBe('shmetrics.vm.');
    expect(new CarbonPusher(parseCarbonArgs('h:1,,hostname=vm,id=x'), recordingContext('carbon')).base).toBe('vm.x.');
  });

  it.each([
    ['', 'HOST:PORT'],
    ['localhost', '"localhost" is not HOST:PORT'],
    ['localhost:0', '"0"'],
    ['localhost:99999', '"99999"'],
    ['h:2003,a,b', 'a second root "b"'],
    ['h:2003,bogus=1', 'unknown key "bogus"'],
    ['h:2003,timeout=abc', 'timeout="abc"'],
    ['h:2003,timeout=0', 'timeout="0"'],
    ['h:2003,max_queue=lots', 'max_queue="lots"'],
    ['h:2003,hostname_dots=..', 'hostname_dots=".."'],
    ['h:2003,id=a,id=b', 'key "id" given twice'],
  ])('refuses %j with a PushSpecError naming the value', (args, named) => {
    const attempt = () => createCarbonPusher(args, recordingContext('carbon'));
    expect(attempt).toThrow(PushSpecError);
    expect(attempt).toThrow(named);
  });
});

describe('carbon lines on the wire', () => {
  it('sends "<root>.<hostname>.<id>.<metric> <signed value> <unix seconds>\\n", ":" in the id replaced', async () => {
    const peer = await capture();
    const { pusher, context } = carbon(`127.0.0.1:${peer.port},stats,hostname=vm,id=myapp:28540`);
    pusher.push(snapshot([['hits', 'counter', 5], ['g1', 'gauge', -42], ['ab', 'absolute', 1], ['big', 'counter', 2n ** 63n - 1n]], 1795268438_250));
    await peer.waitForLines(4);
    expect(peer.text()).toBe(
      'stats.vm.myapp_28540.hits 5 1795268438\n' +
        'stats.vm.myapp_28540.g1 -42 1795268438\n' +
        'stats.vm.myapp_28540.ab 1 1795268438\n' +
        'stats.vm.myapp_28540.big 9223372036854775807 1795268438\n',
    );
    expect(context.logs).toEqual([]);
  });

  it('keeps one connection for every push (uWSGI opens one per push)', async () => {
    const peer = await capture();
    const { pusher } = carbon(`127.0.0.1:${peer.port},hostname=vm`);
    for (let i = 0; i < 5; i++) {
      pusher.push(snapshot([['hits', 'counter', i]], 1795268400_000 + i * 1000));
      await peer.waitForLines(i + 1);
    }
    expect(peer.connections()).toBe(1);
    expect(peer.lines()).toEqual([0, 1, 2, 3, 4].map((i) => `shmetrics.vm.hits ${i} ${1795268400 + i}`));
  });

  it('resolves a host name once, not once per push (again only after a failed connection)', async () => {
    const peer = await capture();
    const lookup = vi.spyOn(dns.promises, 'lookup').mockResolvedValue({ address: '127.0.0.1', family: 4 } as never);
    cleanups.push(() => lookup.mockRestore());
    const { pusher } = carbon(`carbon.example:${peer.port},hostname=vm`);
    for (let i = 0; i < 5; i++) {
      pusher.push(snapshot([['hits', 'counter', i]]));
      await peer.waitForLines(i + 1);
    }
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(lookup.mock.calls[0][0]).toBe('carbon.example');
  });

  it('close() sends what is queued, then closes the connection', async () => {
    const peer = await capture();
    const { pusher } = carbon(`127.0.0.1:${peer.port},hostname=vm`);
    pusher.push(manyMetrics(3000));
    await pusher.close();
    await peer.waitForLines(3000);
    expect(peer.lines().every((line) => LINE.test(line))).toBe(true);
    await until('the connection to close', async () => !pusher.isConnected, 2000);
  });
});

const noCarbon = missingPeer('carbon-cache (graphite-carbon, python3-whisper)', carbonAvailable());

describe.skipIf(noCarbon)('a real carbon-cache', () => {
  let peer: CarbonPeer;
  beforeAll(async () => {
    peer = await startCarbon({ '^bulk\\.': '1s:2m' });
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('stores each metric in its whisper file, negative gauges as negative numbers, counters cumulative', async () => {
    const { pusher, context } = carbon(`127.0.0.1:${peer.linePort},stats,hostname=vm.example.com,hostname_dots=_,id=my:app`);
    const now = Math.floor(Date.now() / 1000);
    pusher.push(snapshot([['hits', 'counter', 5], ['g1', 'gauge', -42], ['ab', 'absolute', 7]], (now - 2) * 1000));
    pusher.push(snapshot([['hits', 'counter', 8], ['g1', 'gauge', -40], ['ab', 'absolute', 7]], (now - 1) * 1000));
    const base = 'stats.vm_example_com.my_app';
    expect(await peer.waitForPoints(`${base}.hits`, now - 10, (points) => points.length === 2)).toEqual([[now - 2, 5], [now - 1, 8]]);
    expect(await peer.waitForPoints(`${base}.g1`, now - 10, (points) => points.length === 2)).toEqual([[now - 2, -42], [now - 1, -40]]);
    expect(await peer.waitForPoints(`${base}.ab`, now - 10, (points) => points.length === 2)).toEqual([[now - 2, 7], [now - 1, 7]]);
    expect(context.logs).toEqual([]);
  });

  it('takes a push of 2,000 metrics and the next push over the same connection', async () => {
    const { pusher } = carbon(`127.0.0.1:${peer.linePort},bulk,hostname=vm`);
    const now = Math.floor(Date.now() / 1000);
    pusher.push(manyMetrics(2000, (now - 1) * 1000));
    pusher.push(snapshot([['last', 'gauge', -1]], now * 1000));
    expect(await peer.waitForPoints('bulk.vm.last', now - 5, (points) => points.length === 1)).toEqual([[now, -1]]);
    const one = (points: [number, number][]): boolean => points.length === 1;
    expect(await peer.waitForPoints('bulk.vm.app.worker.1999.requests', now - 5, one)).toEqual([[now - 1, 1999 * 123_456_789]]);
    expect(await peer.waitForPoints('bulk.vm.app.worker.1998.requests', now - 5, one)).toEqual([[now - 1, -1998 * 1000]]);
    expect(pusher.isConnected).toBe(true);
  });
});

describe('carbon when the peer is down, black-holed, stalled or slow', () => {
  it('refused: keeps at most max_queue, counts the dropped lines, logs once, and sends the newest lines when carbon is back', async () => {
    const port = await freePort();
    const { pusher, context } = carbon(`127.0.0.1:${port},hostname=vm,max_queue=4k,retry_delay=0.5`);
    let pushed = 0;
    for (let i = 0; i < 20; i++) {
      const s = snapshot(Array.from({ length: 50 }, (_, m) => [`m${m}`, 'gauge', i] as [string, 'gauge', number]), 1795268400_000 + i * 1000);
      pusher.push(s);
      pushed += 50;
      await sleep(20);
      expect(pusher.queuedBytes).toBeLessThanOrEqual(4096);
    }
    expect(context.droppedTotal()).toBeGreaterThan(0);
    expect(context.matching(/cannot connect \(ECONNREFUSED\)/)).toHaveLength(1);
    expect(context.matching(/dropping the oldest lines/)).toHaveLength(1);
    expect(context.logs).toHaveLength(2);

    const peer = await capture({ port });
    await until('the queue to drain', async () => pusher.queuedBytes === 0 && pusher.isConnected, 5000);
    const lines = await peer.waitForLines(pushed - context.droppedTotal());
    expect(lines.length + context.droppedTotal()).toBe(pushed);
    expect(lines.every((line) => LINE.test(line))).toBe(true);
    expect(lines.at(-1)).toBe(`shmetrics.vm.m49 19 ${1795268400 + 19}`);
    expect(lines.some((line) => line.endsWith(` ${1795268400}`))).toBe(false); // the oldest went first
    expect(context.matching(/reachable again after [\d.]+ s; \d+ lines dropped meanwhile/)).toHaveLength(1);
    expect(context.logs).toHaveLength(3);
  });

  it('black-holed (no answer to the handshake): gives up each attempt after timeout, logs once, stays bounded', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const { pusher, context } = carbon(`127.0.0.1:${hole.port},hostname=vm,timeout=0.2,retry_delay=0.5,max_queue=2k`);
    for (let i = 0; i < 15; i++) {
      pusher.push(manyMetrics(20, 1795268400_000 + i * 1000));
      await sleep(50);
    }
    expect(pusher.queuedBytes).toBeLessThanOrEqual(2048);
    expect(context.droppedTotal()).toBeGreaterThan(0);
    expect(context.matching(/cannot connect \(no connection after 0\.2 s\)/)).toHaveLength(1);
    expect(context.logs).toHaveLength(2);
  });

  it('a peer that stops reading: the queue stays under its cap, the drops are counted, and every line gets through once it reads again', async () => {
    const peer = await capture({ paused: true });
    const { pusher, context } = carbon(`127.0.0.1:${peer.port},hostname=vm,max_queue=256k,timeout=30`);
    let pushed = 0;
    // 60 pushes of 2,000 metrics is about 9 MB: more than the kernel buffers of both ends take.
    for (let i = 0; i < 60; i++) {
      pusher.push(manyMetrics(2000, 1795268400_000 + i * 1000));
      pushed += 2000;
      await sleep(5);
      expect(pusher.queuedBytes).toBeLessThanOrEqual(256 * 1024);
    }
    await sleep(50);
    expect(context.droppedTotal()).toBeGreaterThan(0);
    expect(context.matching(/queue full \(256 KiB\): dropping the oldest lines/)).toHaveLength(1);
    peer.resume();
    await until('every line not dropped', async () => peer.lineCount() + context.droppedTotal() === pushed, 10_000);
    expect(peer.lines().every((line) => LINE.test(line))).toBe(true);
    expect(peer.connections()).toBe(1);
    expect(context.matching(/caught up; \d+ lines were dropped/)).toHaveLength(1);
  });

  it('a peer that takes nothing for 10 × timeout is dropped and connected to again', async () => {
    const peer = await capture({ paused: true });
    const { pusher, context } = carbon(`127.0.0.1:${peer.port},hostname=vm,max_queue=128k,timeout=0.1,retry_delay=0.5`);
    for (let i = 0; i < 40; i++) {
      pusher.push(manyMetrics(2000, 1795268400_000 + i * 1000));
      await sleep(5);
    }
    await until('a second connection', async () => peer.connections() >= 2, 5000);
    expect(context.matching(/connection lost \(the peer took no data for 1 s\)/)).toHaveLength(1);
    expect(pusher.queuedBytes).toBeLessThanOrEqual(128 * 1024);
  });

  it('a slow peer (reading in short bursts) gets whole lines, in order, and the counts add up', async () => {
    const peer = await capture();
    const { pusher, context } = carbon(`127.0.0.1:${peer.port},hostname=vm,max_queue=512k,timeout=30`);
    const slow = setInterval(() => {
      peer.pause();
      setTimeout(() => peer.resume(), 8);
    }, 10);
    cleanups.push(async () => clearInterval(slow));
    let pushed = 0;
    for (let i = 0; i < 30; i++) {
      pusher.push(manyMetrics(2000, 1795268400_000 + i * 1000));
      pushed += 2000;
      await sleep(10);
    }
    clearInterval(slow);
    peer.resume();
    await until('every line not dropped', async () => peer.lineCount() + context.droppedTotal() === pushed, 10_000);
    const lines = peer.lines();
    expect(lines.every((line) => LINE.test(line))).toBe(true);
    const stamps = lines.map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
    expect(stamps.every((stamp, i) => i === 0 || stamp >= stamps[i - 1])).toBe(true);
  });

  it('close() while carbon is down gives up after timeout and counts what it could not send', async () => {
    const port = await freePort();
    const { pusher, context } = carbon(`127.0.0.1:${port},hostname=vm,timeout=0.3`);
    pusher.push(manyMetrics(100));
    const started = Date.now();
    await pusher.close();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(context.droppedTotal()).toBe(100);
    expect(context.matching(/closed with 100 lines not sent/)).toHaveLength(1);
  });
});

describe('carbon and the event loop', () => {
  it('the synchronous part of a push of 10,000 metrics (push() and the microtasks it queues) is under 5 ms, cold or warm', async () => {
    const peer = await capture({ keep: false });
    const { pusher } = carbon(`127.0.0.1:${peer.port},stats,hostname=vm,id=app`);
    const costs: number[] = [];
    for (let cycle = 0; cycle < 5; cycle++) {
      const data = manyMetrics(10_000);
      costs.push(await syncCostOf(() => pusher.push(data)));
      await until('10,000 more lines', async () => peer.lineCount() >= (cycle + 1) * 10_000, 5000, 5);
    }
    console.log(`carbon, 10,000 metrics: synchronous part ${costs.map((ms) => ms.toFixed(2)).join(' / ')} ms`);
    expect(Math.max(...costs)).toBeLessThan(5);
  });

  it('no turn of the event loop spends 5 ms on a push of 10,000 metrics, from push() until carbon has every line', async () => {
    const report: string[] = [];
    let best = Infinity;
        for (let attempt = 0; attempt < 3 && best >= 5; attempt++) {
      const peer = await capture({ keep: false });
      const { pusher } = carbon(`127.0.0.1:${peer.port},stats,hostname=vm,id=app`);
      let worst = 0;
      for (let cycle = 0; cycle < 5; cycle++) {
        const data = manyMetrics(10_000);
        const turns = await longestTurnDuring(async () => {
          pusher.push(data);
          await until('10,000 more lines', async () => peer.lineCount() >= (cycle + 1) * 10_000, 5000, 1);
        });
        worst = Math.max(worst, turns.longestBusyTurnMs);
        report.push(`${turns.longestTurnMs.toFixed(2)} (gc ${turns.longestGcMs.toFixed(2)})`);
      }
      best = Math.min(best, worst);
    }
    console.log(`carbon, 10,000 metrics, longest turn per push: ${report.join(' / ')} ms; longest busy turn ${best.toFixed(2)} ms`);
    expect(best).toBeLessThan(5);
  });
});
