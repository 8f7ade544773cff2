import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { instrument } from '../../src/builtins';
import { tempRegionPath } from '../helpers/regions';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let m: Metrics;
let server: http.Server;
let agent: http.Agent;
let port: number;
const cleanups: (() => void)[] = [];
/** Resolves the pending /hang responses' handlers (they never answer on their own). */
let hanging: http.ServerResponse[] = [];

beforeEach(async () => {
  m = Metrics.open({ path: tempRegionPath('builtins-instrument') });
  hanging = [];
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/ok') res.end('x'.repeat(Number(url.searchParams.get('size') ?? 10)));
    else if (url.pathname === '/fail') {
      res.statusCode = 503;
      res.end('unavailable');
    } else if (url.pathname === '/slow') setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms')));
    else if (url.pathname === '/hang') hanging.push(res);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  m.close();
});

interface Reply {
  status: number;
  socket: Socket;
}

function get(path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, socket: req.socket! }));
    });
    req.on('error', reject);
  });
}

/** Sends /hang and destroys the request once the server is holding it. */
async function abortedRequest(): Promise<void> {
  const before = hanging.length;
  const req = http.get({ host: '127.0.0.1', port, path: '/hang', agent });
  req.on('error', () => {});
  while (hanging.length === before) await sleep(5);
  req.destroy();
}

async function until(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('instrument', () => {
  it('counts requests, and failures for status >= 500 and for responses aborted before they finished', async () => {
    cleanups.push(instrument(server, { metrics: m, worker: 3 }));
    for (let i = 0; i < 5; i++) expect((await get('/ok')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await get('/fail')).status).toBe(503);
    expect((await get('/nope')).status).toBe(404);
    await abortedRequest();
    await until('the aborted response to close', () => m.get('worker.3.busy') === 0);
    expect(m.get('worker.3.requests')).toBe(9);
    expect(m.get('worker.3.delta_requests')).toBe(9);
    expect(m.get('worker.3.failed_requests')).toBe(3);
    expect(m.has('worker.0.requests')).toBe(false); // only worker 3's metrics are defined
  });

  it('sets busy to 1 while a request is in flight and back to 0 when none is', async () => {
    cleanups.push(instrument(server, { metrics: m, worker: 1 }));
    expect(m.get('worker.1.busy')).toBe(0);
    const slow = get('/slow?ms=300');
    await until('busy', () => m.get('worker.1.busy') === 1);
    await slow;
    await until('idle', () => m.get('worker.1.busy') === 0);
    expect(m.get('worker.1.running_time')).toBeGreaterThanOrEqual(290_000); // timers may fire up to 1 ms early
  });

  it('adds to total_tx exactly the bytes the client read, over one reused keep-alive connection', async () => {
    cleanups.push(instrument(server, { metrics: m, worker: 1 }));
    const sockets = new Set<Socket>();
    for (const size of [0, 1, 1000, 70_000, 5]) sockets.add((await get(`/ok?size=${size}`)).socket);
    sockets.add((await get('/fail')).socket);
    expect(sockets.size).toBe(1);
    const [socket] = sockets;
    await until('the last response to be accounted', () => m.get('worker.1.busy') === 0);
    expect(m.get('worker.1.total_tx')).toBe(socket.bytesRead);
    expect(socket.bytesRead).toBeGreaterThan(71_006);
  });

  it('sets avg_response_time to the mean of the responses that ended in the window, and keeps it while idle', async () => {
    // The first window starts now and ends in 500 ms: both requests end inside it.
    cleanups.push(instrument(server, { metrics: m, worker: 1, intervalMs: 500 }));
    const separate = new http.Agent({ keepAlive: false });
    const slow = (ms: number) =>
      new Promise<void>((resolve) =>
        http.get({ host: '127.0.0.1', port, path: `/slow?ms=${ms}`, agent: separate }, (res) => res.resume().on('end', resolve)),
      );
    await Promise.all([slow(50), slow(250)]);
    expect(m.get('worker.1.avg_response_time')).toBe(0); // not before the window ends
    await until('the first window', () => m.get('worker.1.avg_response_time') > 0, 2000);
    const first = m.get('worker.1.avg_response_time');
    expect(first).toBeGreaterThanOrEqual(145_000); // (50 + 250) / 2 ms, plus overheads, minus timer slack
    expect(first).toBeLessThan(250_000);
    expect(first).toBe(Math.round(m.get('worker.1.running_time') / 2)); // the only two requests so far
    await sleep(600); // a window in which nothing ended
    expect(m.get('worker.1.avg_response_time')).toBe(first);
    const runningBefore = m.get('worker.1.running_time');
    await slow(400);
    await until('the next window', () => m.get('worker.1.avg_response_time') !== first, 2000);
    // This window's mean alone (its only request), not the mean since the start (about 233 ms)
    expect(m.get('worker.1.avg_response_time')).toBe(m.get('worker.1.running_time') - runningBefore);
    expect(m.get('worker.1.avg_response_time')).toBeGreaterThanOrEqual(390_000);
    separate.destroy();
  });

  it('the returned function stops the counting and is idempotent; requests in flight still end', async () => {
    const remove = instrument(server, { metrics: m, worker: 2 });
    await get('/ok');
    const slow = get('/slow?ms=150');
    await until('busy', () => m.get('worker.2.busy') === 1);
    remove();
    remove();
    await slow;
    await get('/ok');
    await until('idle', () => m.get('worker.2.busy') === 0);
    expect(m.get('worker.2.requests')).toBe(2);
    expect(m.get('worker.2.avg_response_time')).toBeGreaterThan(0);
    expect(server.listenerCount('request')).toBe(1);
  });

  it('shares busy between two servers of one worker', async () => {
    const other = http.createServer((_req, res) => setTimeout(() => res.end('other'), 200));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    cleanups.push(instrument(server, { metrics: m, worker: 1 }), instrument(other, { metrics: m, worker: 1 }));
    const otherPort = (other.address() as AddressInfo).port;
    const long = new Promise((resolve) => http.get({ host: '127.0.0.1', port: otherPort, agent: false }, (res) => res.resume().on('end', resolve)));
    await until('busy', () => m.get('worker.1.busy') === 1);
    await get('/ok'); // starts and ends while the other server's request is still in flight
    expect(m.get('worker.1.busy')).toBe(1);
    await long;
    await until('idle', () => m.get('worker.1.busy') === 0);
    expect(m.get('worker.1.requests')).toBe(2);
    other.close();
  });

  it('refuses a server instrumented twice and bad options', () => {
    cleanups.push(instrument(server, { metrics: m, worker: 1 }));
    expect(() => instrument(server, { metrics: m, worker: 1 })).toThrow(/already instrumented/);
    const plain = http.createServer();
    expect(() => instrument({} as http.Server, { metrics: m, worker: 1 })).toThrow(TypeError);
    expect(() => instrument(plain, { metrics: m, worker: -1 })).toThrow(RangeError);
    expect(() => instrument(plain, { metrics: m, worker: 1, intervalMs: 0 })).toThrow(RangeError);
    expect(() => instrument(plain, { metrics: undefined as unknown as Metrics, worker: 1 })).toThrow(TypeError);
    expect(plain.listenerCount('request')).toBe(0);
  });
});
