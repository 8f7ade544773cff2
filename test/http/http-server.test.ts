import http from 'node:http';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { serveMetrics, type MetricsServer, type ServeMetricsOptions } from '../../src/http';
import { tempRegionPath } from '../helpers/regions';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function region(label: string): Metrics {
  const m = Metrics.open({ path: tempRegionPath(label) });
  cleanups.push(() => m.close());
  return m;
}

async function serve(m: Metrics, options: Partial<ServeMetricsOptions> = {}): Promise<{ server: MetricsServer; logs: string[] }> {
  const logs: string[] = [];
  const server = await serveMetrics(m, { address: '127.0.0.1:0', log: (line) => logs.push(line), ...options });
  cleanups.push(() => server.close());
  return { server, logs };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  raw: Buffer;
}

function request(server: MetricsServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body, raw });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('serveMetrics', () => {
  it('serves /metrics as text 0.0.4 by default and OpenMetrics to Prometheus, with the matching Content-Type', async () => {
    const m = region('srv-metrics');
    m.counter('app.hits').inc(7);
    const { server } = await serve(m);
    const text = await request(server, '/metrics');
    expect(text.status).toBe(200);
    expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body).toContain('# TYPE shmetrics_app_hits_total counter\nshmetrics_app_hits_total 7\n');
    const om = await request(server, '/metrics', { Accept: PROMETHEUS_ACCEPT });
    expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.headers.vary).toBe('Accept, Accept-Encoding');
    expect(om.body).toBe('# HELP shmetrics_app_hits shmetrics app.hits (counter)\n# TYPE shmetrics_app_hits counter\nshmetrics_app_hits_total 7\n# EOF\n');
  });

  it('reads the region at every request: a scrape sees the latest value', async () => {
    const m = region('srv-fresh');
    const c = m.counter('n');
    const { server } = await serve(m, { historySeconds: 0 });
    c.inc(1);
    expect((await request(server, '/metrics')).body).toContain('shmetrics_n_total 1\n');
    c.inc(41);
    expect((await request(server, '/metrics')).body).toContain('shmetrics_n_total 42\n');
  });

  it('gzips a large body for a client that accepts gzip, and only then', async () => {
    const m = region('srv-gzip');
    for (let i = 0; i < 100; i++) m.counter(`c${i}`).inc(i);
    const { server } = await serve(m);
    const zipped = await request(server, '/metrics', { 'Accept-Encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.raw.length).toBeLessThan(zipped.body.length / 3);
    const plain = await request(server, '/metrics');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(zipped.body);
  });

  it('maps names with labelFrom and reports a metric it must leave out', async () => {
    const m = region('srv-labels');
    m.counter('worker.1.requests').inc(2);
    m.counter('worker.2.requests').inc(3);
    m.counter('a_b').inc();
    m.counter('a.b').inc();
    const { server, logs } = await serve(m, { labelFrom: ['worker'] });
    const body = (await request(server, '/metrics')).body;
    expect(body).toContain('shmetrics_worker_requests_total{worker="1"} 2\nshmetrics_worker_requests_total{worker="2"} 3\n');
    expect(logs).toContain('http: metric "a.b" is left out of /metrics: maps to the same series as a_b');
  });

  it('answers /healthz with ok, and 503 once the region is closed', async () => {
    const m = Metrics.open({ path: tempRegionPath('srv-health') });
    const { server } = await serve(m, { historySeconds: 0 });
    const ok = await request(server, '/healthz');
    expect([ok.status, ok.body]).toEqual([200, 'ok\n']);
    m.close();
    const down = await request(server, '/healthz');
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/^unavailable: .*closed/);
  });

  it('with basic auth: 401 and a challenge without or with wrong credentials, 200 with them; /healthz stays open', async () => {
    const m = region('srv-auth');
    m.counter('n').inc();
    const { server, logs } = await serve(m, { auth: 'prom:s3cret' });
    expect(logs[0]).toMatch(/^http: serving on http:\/\/127\.0\.0\.1:\d+\/ \(\/metrics, \/status, \/healthz\) with basic auth$/);
    const basic = (text: string) => ({ Authorization: `Basic ${Buffer.from(text).toString('base64')}` });
    for (const path of ['/metrics', '/status', '/status/n?format=json', '/nope']) {
      const none = await request(server, path);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Basic realm="shmetrics", charset="UTF-8"');
      expect((await request(server, path, basic('prom:wrong'))).status).toBe(401);
      expect((await request(server, path, basic('other:s3cret'))).status).toBe(401);
    }
    expect((await request(server, '/metrics', basic('prom:s3cret'))).status).toBe(200);
    expect((await request(server, '/status/n?format=json', basic('prom:s3cret'))).status).toBe(200);
    expect((await request(server, '/healthz')).status).toBe(200);
  });

  it('serves /status as JSON, pretty JSON and HTML, and /status/<prefix> as a subtree; 404 for an unknown prefix', async () => {
    const m = region('srv-status');
    m.counter('worker.1.requests').inc(5);
    m.gauge('worker.1.busy').set(1);
    m.gauge('system.load1').set(52);
    const { server } = await serve(m);
    const json = await request(server, '/status?format=json');
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    const tree = JSON.parse(json.body);
    expect(tree.metrics).toBe(3);
    expect(tree.tree.children.worker.children['1'].children.requests.metric).toEqual({ name: 'worker.1.requests', type: 'counter', value: 5 });
    expect(tree.tree.children.worker.children['1'].children.requests.metric.history).toBeUndefined();

    const pretty = await request(server, '/status/worker.1?format=prettyjson');
    expect(pretty.body).toMatch(/^\{\n {2}"prefix": "worker\.1",\n/);
    expect(JSON.parse(pretty.body).tree.children.busy.metric.value).toBe(1);
    expect(JSON.parse((await request(server, '/status/worker/1/?format=json')).body).prefix).toBe('worker.1');

    const withHistory = JSON.parse((await request(server, '/status/worker.1?format=json&history=1')).body);
    expect(withHistory.tree.children.requests.metric.history.kind).toBe('rate');
    expect(withHistory.history).toMatchObject({ stepMs: 1000, capacity: 300, sequence: 1 });
    const newest = JSON.parse((await request(server, '/status/worker.1?format=json&history=1&points=1')).body);
    expect(newest.tree.children.busy.metric.history).toEqual({ kind: 'value', points: [1] });
    expect((await request(server, '/status?format=json&history=1&points=0')).status).toBe(400);

    const html = await request(server, '/status/worker.1');
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body).toMatch(/^<!doctype html>/);
    expect(html.body).toContain('"name":"worker.1.requests"');

    const missing = await request(server, '/status/nope?format=json');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'no metric under "nope"' });
    expect((await request(server, '/status/nope')).status).toBe(404);
    expect((await request(server, '/status?format=xml')).status).toBe(400);
  });

  it('serves the page self-contained under a CSP that allows nothing outside its origin', async () => {
    const m = region('srv-csp');
    m.counter('n').inc();
    const { server } = await serve(m);
    const page = await request(server, '/status');
    const csp = String(page.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    // From /status the links must resolve under /status/.
    expect(page.body).toContain('<base href="status/">');
    expect((await request(server, '/status/n')).body).toContain('<base href="./">');
    expect((await request(server, '/status/a/b')).status).toBe(404);
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('answers HEAD without a body, refuses other methods with 405, redirects / to the status page, 204 for a favicon', async () => {
    const m = region('srv-methods');
    m.counter('n').inc();
    const { server } = await serve(m);
    const head = await request(server, '/metrics', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.raw.length).toBe(0);
    const post = await request(server, '/metrics', {}, 'POST');
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
    const root = await request(server, '/');
    expect([root.status, root.headers.location]).toEqual([302, 'status/']);
    expect((await request(server, '/favicon.ico')).status).toBe(204);
    expect((await request(server, '/nope')).status).toBe(404);
  });

  it('refuses 0.0.0.0 unless allowAllInterfaces, and binds it when allowed', async () => {
    const m = region('srv-bind');
    await expect(serveMetrics(m, { address: '0.0.0.0:0', log: () => {} })).rejects.toThrow(/address "0\.0\.0\.0:0": 0\.0\.0\.0 listens on every interface/);
    const logs: string[] = [];
    const server = await serveMetrics(m, { address: '0.0.0.0:0', allowAllInterfaces: true, log: (l) => logs.push(l) });
    cleanups.push(() => server.close());
    expect(server.address).toBe('0.0.0.0');
    expect(logs).toContain('http: 0.0.0.0:0 is reachable from other machines and has no --http-auth');
  });

  it('reports a port in use naming the address', async () => {
    const m = region('srv-busy');
    const { server } = await serve(m);
    await expect(serveMetrics(m, { address: `127.0.0.1:${server.port}`, log: () => {} })).rejects.toThrow(
      `address "127.0.0.1:${server.port}": cannot listen: EADDRINUSE`,
    );
  });

  it('close() ends kept-alive connections, so a master can exit at once', async () => {
    const m = region('srv-close');
    const server = await serveMetrics(m, { address: '127.0.0.1:0', log: () => {} });
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (res) => res.resume().on('end', resolve)));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    agent.destroy();
  });
});
