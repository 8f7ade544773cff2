import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PushSpecError } from '../../src/errors';
import { parseSocketArgs, SocketPusher } from '../../src/push';
import { pushSetup, sleep } from './helpers/region';
import { freeUdpPort, poll, startUdpCapture, type UdpCapture } from './helpers/udp-peers';

const ipv6Loopback = (() => {
  try {
    return execFileSync(process.execPath, ['-e', "require('dgram').createSocket('udp6').bind(0, '::1', function () { this.close(); })"], { stdio: 'ignore' }) !== undefined;
  } catch {
    return false;
  }
})();

describe('socket:HOST:PORT[,prefix] arguments', () => {
  it('defaults to the prefix "shmetrics"', () => {
    expect(parseSocketArgs('127.0.0.1:9999')).toEqual({ peer: { host: '127.0.0.1', port: 9999 }, prefix: 'shmetrics', maxQueueBytes: 4 * 1024 * 1024 });
    expect(parseSocketArgs('127.0.0.1:9999,myprefix,max_queue=1000')).toMatchObject({ prefix: 'myprefix', maxQueueBytes: 1000 });
  });

  it.each([
    ['', /missing the peer address/],
    ['host', /missing ":PORT"/],
    ['127.0.0.1:1,p,max_datagram=512', /unknown key "max_datagram" \(known: max_queue/],
    ['127.0.0.1:1,p,max_queue=0', /max_queue "0" must be a positive integer/],
  ])('refuses %j', (args, message) => {
    expect(() => parseSocketArgs(args)).toThrow(PushSpecError);
    expect(() => parseSocketArgs(args)).toThrow(message);
  });
});

describe('the datagrams, at a UDP capture peer', () => {
  let capture: UdpCapture;
  // One capture per test: a scheduler's final push (at close, after the test) must not land in the next test.
  beforeEach(async () => (capture = await startUdpCapture()));
  afterEach(() => capture.close());

  it('sends one datagram per metric: "<prefix>.<name> <type code> <value>", as uWSGI', async () => {
    const { metrics, scheduler } = pushSetup();
    metrics.counter('hits').inc(5);
    metrics.gauge('g1').set(-42);
    metrics.absolute('ab').inc(1);
    metrics.define('name=al,type=alias,alias=hits');
    metrics.counter('big').inc(2n ** 62n);
    scheduler.add({ pusher: 'socket', args: `127.0.0.1:${capture.port},myprefix`, forbid: ['shmetrics.'] });
    scheduler.pushNow();
    await capture.waitFor((m) => m.length >= 5);
    await sleep(50);
    expect(capture.messages).toEqual(['myprefix.hits 0 5', 'myprefix.g1 1 -42', 'myprefix.ab 2 1', 'myprefix.al 3 5', `myprefix.big 0 ${2n ** 62n}`]);
  });

  it('sends cumulative values every push (the socket format has no deltas), with the default prefix', async () => {
    const { metrics, scheduler } = pushSetup();
    const hits = metrics.counter('hits');
    scheduler.add({ pusher: 'socket', args: `127.0.0.1:${capture.port}`, allow: ['hits'] });
    for (const inc of [2, 3, 0]) {
      hits.inc(inc);
      scheduler.pushNow();
    }
    await capture.waitFor((m) => m.length >= 3);
    expect(capture.messages).toEqual(['shmetrics.hits 0 2', 'shmetrics.hits 0 5', 'shmetrics.hits 0 5']);
  });

  it.skipIf(!ipv6Loopback)('sends to an IPv6 peer, [::1]:PORT', async () => {
    const capture6 = await startUdpCapture(0, '::1');
    try {
      const { metrics, scheduler } = pushSetup();
      metrics.gauge('g').set(-1);
      scheduler.add({ pusher: 'socket', args: `[::1]:${capture6.port},six`, allow: ['g'] });
      scheduler.pushNow();
      await capture6.waitFor((m) => m.length >= 1);
      expect(capture6.messages).toEqual(['six.g 1 -1']);
    } finally {
      await capture6.close();
    }
  });

  it('delivers 5,000 metrics without flooding a receiver in the same process', async () => {
    const { metrics, scheduler } = pushSetup({ capacity: 5200 });
    for (let i = 0; i < 5000; i++) metrics.gauge(`m.${i}`).set(i);
    scheduler.add({ pusher: 'socket', args: `127.0.0.1:${capture.port},p`, allow: ['m.'] });
    scheduler.pushNow();
    await capture.waitFor((m) => m.length >= 5000, 20_000);
    expect(capture.messages.slice(0, 3)).toEqual(['p.m.0 1 0', 'p.m.1 1 1', 'p.m.2 1 2']);
    expect(new Set(capture.messages).size).toBe(5000);
  });
});

describe('an unreachable peer', () => {
  it('drops the oldest past max_queue, counts them, logs down and up once each, and delivers after the peer is back', async () => {
    const port = await freeUdpPort();
    const { metrics, scheduler, logs } = pushSetup();
    const values: number[] = [];
    for (let i = 0; i < 50; i++) metrics.gauge(`v.${i}`).set(i);
    scheduler.add({ pusher: 'socket', args: `127.0.0.1:${port},s,max_queue=2000`, allow: ['v.'] });
    const sender = (scheduler.pusher('socket') as SocketPusher).sender;
    const dropped = metrics.counter('shmetrics.push.socket.dropped');
    for (let push = 0; push < 10; push++) {
      scheduler.pushNow();
      await sleep(20);
      values.push(sender.queuedBytes);
    }
    // One datagram per metric: "s.v.NN 1 NN" plus 80 bytes of bookkeeping each.
    expect(Math.max(...values)).toBeLessThanOrEqual(2000);
    expect(sender.queuedDatagrams).toBeGreaterThan(10);
    expect(dropped.get()).toBeGreaterThan(300);
    expect(logs).toEqual([expect.stringMatching(/^stats pusher socket: cannot send to 127\.0\.0\.1:\d+ \(ECONNREFUSED\); keeping up to 2000 bytes/)]);

    const capture = await startUdpCapture(port);
    try {
      await poll(() => (logs.length >= 2 ? true : undefined), 10_000, 'the recovery log line');
      expect(logs[1]).toMatch(/^stats pusher socket: sending to 127\.0\.0\.1:\d+ again; \d+ values were dropped while it was unreachable$/);
      await poll(() => (sender.queuedDatagrams === 0 ? true : undefined), 5_000, 'the queue to drain');
      // What was queued arrives, newest last.
      expect(capture.messages.at(-1)).toBe('s.v.49 1 49');
      metrics.gauge('v.0').set(1234);
      scheduler.pushNow();
      await capture.waitFor((m) => m.includes('s.v.0 1 1234'));
      expect(logs).toHaveLength(2);
    } finally {
      await capture.close();
    }
  });

  it('closes promptly with the peer down, counting what it could not send', async () => {
    const port = await freeUdpPort();
    const { metrics, scheduler, logs } = pushSetup();
    for (let i = 0; i < 20; i++) metrics.gauge(`v.${i}`).set(i);
    scheduler.add({ pusher: 'socket', args: `127.0.0.1:${port}`, allow: ['v.'] });
    scheduler.pushNow();
    await poll(() => (logs.length > 0 ? true : undefined), 5_000, 'the peer to be found down');
    const started = Date.now();
    await scheduler.close();
    expect(Date.now() - started).toBeLessThan(1000);
    // 20 from the push, 20 from the final push at close; none could be sent.
    expect(metrics.get('shmetrics.push.socket.dropped')).toBe(40);
    expect(logs.at(-1)).toMatch(/^stats pusher socket: closing with \d+ values not sent to 127\.0\.0\.1:\d+; they are dropped$/);
  });
});
