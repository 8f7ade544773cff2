import dns from 'node:dns';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PushSpecError } from '../../src/errors';
import { parseStatsdArgs, StatsdPusher, STATSD_MAX_DATAGRAM_BYTES } from '../../src/push';
import { missingPeer } from '../helpers/peers';
import { pushSetup, sleep } from './helpers/region';
import { startStatsd, STATSD_SCRIPT, type StatsdDaemon } from './helpers/statsd-daemon';
import { freeUdpPort, poll, startBlackHole, startUdpCapture, type UdpCapture } from './helpers/udp-peers';

describe('statsd:HOST:PORT[,prefix] arguments', () => {
  it('defaults to the prefix "shmetrics" and 1,432-byte datagrams', () => {
    expect(parseStatsdArgs('127.0.0.1:8125')).toEqual({
      peer: { host: '127.0.0.1', port: 8125 },
      prefix: 'shmetrics',
      maxDatagramBytes: 1432,
      maxQueueBytes: 4 * 1024 * 1024,
    });
  });

  it('takes a prefix, an empty prefix, a hostname, an IPv6 address and the size options', () => {
    expect(parseStatsdArgs('stats.example.com:9125,myapp')).toMatchObject({ peer: { host: 'stats.example.com', port: 9125 }, prefix: 'myapp' });
    expect(parseStatsdArgs('127.0.0.1:8125,')).toMatchObject({ prefix: '' });
    expect(parseStatsdArgs('[::1]:8125')).toMatchObject({ peer: { host: '::1', port: 8125 } });
    expect(parseStatsdArgs('127.0.0.1:8125,p,max_datagram=512,max_queue=65536')).toMatchObject({ maxDatagramBytes: 512, maxQueueBytes: 65536 });
  });

  it.each([
    ['', /missing the peer address/],
    ['127.0.0.1', /missing ":PORT"/],
    ['127.0.0.1:0', /port "0" must be 1..65535/],
    ['127.0.0.1:70000', /port "70000"/],
    ['::1:8125', /IPv6 address in brackets/],
    ['[nope]:8125', /not an IPv6 address/],
    ['127.0.0.1:8125,a,b', /too many items/],
    ['127.0.0.1:8125,bad prefix', /prefix "bad prefix"/],
    ['127.0.0.1:8125,a:b', /prefix "a:b"/],
    ['127.0.0.1:8125,p,mtu=9000', /unknown key "mtu" \(known: max_queue, max_datagram/],
    ['127.0.0.1:8125,p,max_datagram=100', /max_datagram 100 is too small/],
    ['127.0.0.1:8125,p,max_datagram=x', /max_datagram "x" must be a positive integer/],
  ])('refuses %j', (args, message) => {
    expect(() => parseStatsdArgs(args)).toThrow(PushSpecError);
    expect(() => parseStatsdArgs(args)).toThrow(message);
  });
});

/** Datagrams as statsd lines, in order. */
const linesOf = (messages: string[]) => messages.flatMap((m) => m.split('\n'));

describe('the datagrams', () => {
  let capture: UdpCapture;
  // One capture per test: a scheduler's final push (at close, after the test) must not land in the next test.
  beforeEach(async () => (capture = await startUdpCapture()));
  afterEach(() => capture.close());

  it('sends counters as |c deltas, gauges, absolutes and aliases as |g, and a negative gauge as 0 then -N', async () => {
    const { metrics, scheduler } = pushSetup();
    const hits = metrics.counter('hits');
    const temp = metrics.gauge('temp');
    metrics.define('name=ab,type=absolute');
    metrics.define('name=al,type=alias,alias=temp');
    scheduler.add(`statsd:127.0.0.1:${capture.port}`);
    hits.inc(5);
    temp.set(-42);
    scheduler.pushNow();
    await capture.waitFor((m) => linesOf(m).length >= 7);
    // The first push records where each counter stands (see README: a restarted master must not resend totals).
    expect(linesOf(capture.messages)).toEqual([
      'shmetrics.hits:0|c',
      'shmetrics.temp:0|g',
      'shmetrics.temp:-42|g',
      'shmetrics.ab:0|g',
      'shmetrics.al:0|g',
      'shmetrics.al:-42|g',
      'shmetrics.shmetrics.push.statsd.dropped:0|c',
    ]);
    capture.messages.splice(0);
    hits.inc(3);
    temp.set(7);
    scheduler.pushNow();
    await capture.waitFor((m) => linesOf(m).length >= 5);
    expect(linesOf(capture.messages)).toEqual([
      'shmetrics.hits:3|c',
      'shmetrics.temp:7|g',
      'shmetrics.ab:0|g',
      'shmetrics.al:7|g',
      'shmetrics.shmetrics.push.statsd.dropped:0|c',
    ]);
  });

  it('packs several lines per datagram, never more than max_datagram bytes, and keeps a negative gauge\'s two lines together', async () => {
    const { metrics, scheduler } = pushSetup({ capacity: 512 });
    const names: string[] = [];
    for (let i = 0; i < 300; i++) {
      const name = `service.component-${i}.${'x'.repeat(i % 60)}`;
      names.push(name);
      metrics.gauge(name).set(i % 3 === 0 ? -1_000_000 - i : i);
    }
    scheduler.add({ pusher: 'statsd', args: `127.0.0.1:${capture.port},p,max_datagram=600`, allow: ['service.'] });
    scheduler.pushNow();
    await capture.waitFor((m) => linesOf(m).length >= 300 + 100);
    await sleep(50);
    expect(capture.messages.length).toBeGreaterThan(1);
    expect(capture.messages.length).toBeLessThan(300);
    for (const datagram of capture.messages) expect(Buffer.byteLength(datagram)).toBeLessThanOrEqual(600);
    const expected = names.flatMap((name, i) => (i % 3 === 0 ? [`p.${name}:0|g`, `p.${name}:${-1_000_000 - i}|g`] : [`p.${name}:${i}|g`]));
    expect(linesOf(capture.messages)).toEqual(expected);
    for (const datagram of capture.messages) expect(datagram.split('\n')[0]).not.toMatch(/:-\d+\|g$/);
  });

  it('fills datagrams up to 1,432 bytes by default', async () => {
    const { metrics, scheduler } = pushSetup({ capacity: 512 });
    for (let i = 0; i < 400; i++) metrics.counter(`a.fairly.long.metric.name.number.${i}`).inc(i);
    scheduler.add({ pusher: 'statsd', args: `127.0.0.1:${capture.port}`, forbid: ['shmetrics.'] });
    scheduler.pushNow();
    await capture.waitFor((m) => linesOf(m).length >= 400);
    const sizes = capture.messages.map((m) => Buffer.byteLength(m));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(STATSD_MAX_DATAGRAM_BYTES);
    // Every datagram but the last is full to within one line.
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(STATSD_MAX_DATAGRAM_BYTES - 60);
  });

  it('resolves a hostname once, not per datagram', async () => {
    const { address } = await dns.promises.lookup('localhost');
    const local = await startUdpCapture(0, address);
    const lookup = vi.spyOn(dns, 'lookup');
    try {
      const { metrics, scheduler } = pushSetup({ capacity: 512 });
      for (let i = 0; i < 300; i++) metrics.counter(`c${i}`);
      scheduler.add(`statsd:localhost:${local.port},p,max_datagram=512`);
      for (let push = 1; push <= 5; push++) {
        scheduler.pushNow();
        await local.waitFor((m) => linesOf(m).length >= 301 * push);
      }
      expect(local.messages.length).toBeGreaterThanOrEqual(5 * 5);
      expect(lookup.mock.calls.filter(([host]) => host === 'localhost')).toHaveLength(1);
    } finally {
      lookup.mockRestore();
      await local.close();
    }
  });
});

describe.skipIf(missingPeer('statsd (npm devDependency)', STATSD_SCRIPT !== undefined, 'run npm install'))('against the etsy statsd daemon', () => {
  let statsd: StatsdDaemon;
  beforeAll(async () => (statsd = await startStatsd()), 30_000);
  afterAll(() => statsd?.stop());

  /** Pushes, then waits until statsd has parsed every line of the push. */
  async function pushAndWait(push: () => void, lines: number): Promise<void> {
    const before = (await statsd.counters())['statsd.metrics_received'] ?? 0;
    push();
    await poll(async () => ((await statsd.counters())['statsd.metrics_received'] >= before + lines ? true : undefined), 10_000, `${lines} lines at statsd`);
  }

  it('shows exact counter totals after deltas, and exact gauges including negative ones', async () => {
    const { metrics, scheduler } = pushSetup();
    const hits = metrics.counter('hits');
    const temp = metrics.gauge('temp');
    const ab = metrics.absolute('ab');
    scheduler.add({ pusher: 'statsd', args: `127.0.0.1:${statsd.udpPort},exact`, forbid: ['shmetrics.'] });
    hits.inc(1000); // counted before the first push: the first push only records where counters stand
    await pushAndWait(() => scheduler.pushNow(), 3);
    expect((await statsd.counters())['exact.hits']).toBe(0);

    const totals: number[] = [];
    const gauges: number[] = [];
    for (const [inc, value] of [[5, 10], [3, -42], [0, -7], [12, 0], [1, 99]]) {
      hits.inc(inc);
      temp.set(value);
      ab.inc(2);
      await pushAndWait(() => scheduler.pushNow(), value < 0 ? 4 : 3);
      totals.push((await statsd.counters())['exact.hits']);
      gauges.push((await statsd.gauges())['exact.temp']);
    }
    expect(totals).toEqual([5, 8, 8, 20, 21]);
    expect(gauges).toEqual([10, -42, -7, 0, 99]);
    expect((await statsd.gauges())['exact.ab']).toBe(10);
    expect((await statsd.counters())['statsd.bad_lines_seen']).toBe(0);
  });

  it('sends a reset_after_push counter\'s count since the last push, and a counter defined later from its initial_value', async () => {
    const { metrics, scheduler } = pushSetup();
    const r = metrics.define('name=r,reset_after_push=1,initial_value=100');
    scheduler.add({ pusher: 'statsd', args: `127.0.0.1:${statsd.udpPort},rap`, allow: ['r', 'late'] });
    r.inc(3);
    await pushAndWait(() => scheduler.pushNow(), 1);
    expect((await statsd.counters())['rap.r']).toBe(3);
    expect(r.get()).toBe(100);
    const late = metrics.define('name=late,initial_value=50');
    late.inc(4);
    r.inc(2);
    await pushAndWait(() => scheduler.pushNow(), 2);
    expect((await statsd.counters())['rap.r']).toBe(5);
    expect((await statsd.counters())['rap.late']).toBe(4);
  });
});

describe('an unreachable or black-holing peer', () => {
  it('keeps at most max_queue bytes, counts what it drops, logs once per change, and recovers when statsd comes back', async () => {
    const port = await freeUdpPort();
    const { metrics, scheduler, logs } = pushSetup({ capacity: 512 });
    for (let i = 0; i < 200; i++) metrics.counter(`busy.${i}`).inc(i);
    scheduler.add({ pusher: 'statsd', args: `127.0.0.1:${port},down,max_queue=8192`, allow: ['busy.'] });
    const sender = (scheduler.pusher('statsd') as StatsdPusher).sender;
    const dropped = metrics.counter('shmetrics.push.statsd.dropped');
    const peak: number[] = [];
    for (let push = 0; push < 20; push++) {
      scheduler.pushNow();
      await sleep(30);
      peak.push(sender.queuedBytes);
    }
    expect(Math.max(...peak)).toBeLessThanOrEqual(8192 + STATSD_MAX_DATAGRAM_BYTES + 80);
    expect(dropped.get()).toBeGreaterThan(0);
    // 20 pushes of 200 values: what is neither queued nor dropped was sent before the refusal was known.
    expect(dropped.get()).toBeLessThanOrEqual(20 * 200);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(new RegExp(`^stats pusher statsd: cannot send to 127.0.0.1:${port} \\(ECONNREFUSED\\); keeping up to 8192 bytes`));

    if (!STATSD_SCRIPT) return;
    const statsd = await startStatsd({ udpPort: port });
    try {
      await poll(() => (logs.length >= 2 ? true : undefined), 10_000, 'the recovery log line');
      expect(logs[1]).toMatch(new RegExp(`^stats pusher statsd: sending to 127.0.0.1:${port} again; \\d+ values were dropped while it was unreachable$`));
      const droppedWhileDown = Number(/again; (\d+) values/.exec(logs[1])![1]);
      expect(droppedWhileDown).toBeGreaterThan(0);
      // The queue drains into statsd; the next push arrives too.
      metrics.counter('busy.0').inc(7);
      scheduler.pushNow();
      await poll(async () => ((await statsd.counters())['down.busy.0'] !== undefined ? true : undefined), 10_000, 'down.busy.0 at statsd');
      await poll(() => (sender.queuedBytes === 0 ? true : undefined), 10_000, 'an empty queue');
      expect(logs).toHaveLength(2);
    } finally {
      await statsd.stop();
    }
  });

  it('sends to a black hole without errors, logs or a growing queue', async () => {
    const hole = await startBlackHole();
    try {
      const { metrics, scheduler, logs } = pushSetup({ capacity: 512 });
      for (let i = 0; i < 300; i++) metrics.gauge(`g.${i}`).set(i);
      scheduler.add(`statsd:127.0.0.1:${hole.port}`);
      const sender = (scheduler.pusher('statsd') as StatsdPusher).sender;
      const peak: number[] = [];
      for (let push = 0; push < 10; push++) {
        scheduler.pushNow();
        await sleep(20);
        peak.push(sender.queuedBytes);
      }
      // At most the pushes made while the first datagram waited for an ICMP error that never came.
      expect(Math.max(...peak)).toBeLessThanOrEqual(10 * 300 * 40);
      await poll(() => (sender.queuedBytes === 0 ? true : undefined), 5_000, 'an empty queue');
      expect(logs).toEqual([]);
      expect(metrics.get('shmetrics.push.statsd.dropped')).toBe(0);
      await scheduler.close();
    } finally {
      await hole.stop();
    }
  });
});
