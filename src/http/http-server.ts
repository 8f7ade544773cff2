/**
 * The HTTP face of a region, on Node's own http module: /metrics (Prometheus text 0.0.4 or OpenMetrics
 * 1.0 by content negotiation), /status (the metric tree as a live HTML page, or JSON), /healthz.
 *
 * Every response reads the region at request time (one snapshot); only the /status sparklines come from
 * memory, sampled once a tick by the serving process.
 */

import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import type { Metrics } from '../metrics';
import { AliasTargets } from './alias-targets';
import { MetricHistory } from './history';
import { checkHttpAuth, HttpOptionError, parseHttpAuth, parseListenAddress, type HttpAuth } from './http-options';
import { acceptsGzip, negotiateExposition } from './negotiation';
import { CONTENT_TYPES, PrometheusExposition, type PrometheusNaming } from './prometheus-format';
import { renderStatusPage, statusPageCsp } from './status-page';
import { buildStatusTree, parseStatusPrefix, statusTreeJson } from './status-tree';

export interface ServeMetricsOptions extends PrometheusNaming {
  /** `HOST:PORT`, `[IPV6]:PORT`, or `PORT` alone for 127.0.0.1:PORT. Port 0 picks a free port. */
  address: string;
  /** Allow 0.0.0.0 and :: (every interface); refused otherwise. */
  allowAllInterfaces?: boolean;
  /** Basic authentication for every path but /healthz: credentials, or `USER:PASSWORD` / `@FILE`. */
  auth?: HttpAuth | string;
  /** Seconds of sparkline history kept in memory (default 300; 0: none). */
  historySeconds?: number;
  /** Messages (start, dropped names, errors). Default: stderr. */
  log?: (message: string) => void;
}

export interface MetricsServer {
  /** The address listened on, and the port (the real one when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  /** `http://HOST:PORT/` */
  readonly url: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Below this size a body is sent as it is: gzip would cost more than it saves. */
const GZIP_MIN_BYTES = 1024;
const DEFAULT_HISTORY_SECONDS = 300;
const TICK_MS = 1000;
const ENDPOINTS = 'GET /metrics, /status[/<prefix>][?format=json|prettyjson], /healthz\n';

/** Starts the HTTP output; resolves once it listens. Option errors throw HttpOptionError/RangeError naming the value. */
export async function serveMetrics(metrics: Metrics, options: ServeMetricsOptions): Promise<MetricsServer> {
  const log = options.log ?? ((message: string) => process.stderr.write(`shmetrics: ${message}\n`));
  const listen = parseListenAddress(options.address, { allowAllInterfaces: options.allowAllInterfaces });
  const auth = typeof options.auth === 'string' ? parseHttpAuth(options.auth) : options.auth && checkHttpAuth(options.auth);
  const historySeconds = options.historySeconds ?? DEFAULT_HISTORY_SECONDS;
  const history = historySeconds === 0 ? undefined : new MetricHistory(historySeconds, TICK_MS);
  const exposition = new PrometheusExposition({
    namespace: options.namespace,
    labelFrom: options.labelFrom,
    onDropped: (name, reason) => log(`http: metric "${name}" is left out of /metrics: ${reason}`),
  });
  const targets = new AliasTargets();
  const expected = auth ? digest(`${auth.user}:${auth.password}`) : undefined;

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Origin-form targets ("/status/x") are taken as paths, so "//x" stays a path, not a host.
    const target = req.url ?? '/';
    const url = target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target, 'http://localhost');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, 'text/plain; charset=utf-8', `${req.method} is not supported: ${ENDPOINTS}`, { Allow: 'GET, HEAD' });
      return;
    }
    // /healthz answers without credentials (load balancers, orchestrators) and tells nothing about metrics.
    if (path === '/healthz') {
      try {
        metrics.list();
      } catch (error) {
        send(req, res, 503, 'text/plain; charset=utf-8', `unavailable: ${(error as Error).message}\n`);
        return;
      }
      send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    if (expected && !authorized(req.headers.authorization, expected)) {
      send(req, res, 401, 'text/plain; charset=utf-8', 'authentication required\n', {
        'WWW-Authenticate': 'Basic realm="shmetrics", charset="UTF-8"',
      });
      return;
    }
    if (path === '/metrics') {
      const format = negotiateExposition(req.headers.accept);
      send(req, res, 200, CONTENT_TYPES[format], exposition.render(metrics.snapshot(), format), { Vary: 'Accept, Accept-Encoding' });
      return;
    }
    if (path === '/status' || path.startsWith('/status/')) {
      status(req, res, url);
      return;
    }
    if (path === '/favicon.ico') {
      // Browsers ask for it on every page (the JSON views too); no icon, and no 404 in their console.
      res.writeHead(204, { 'Cache-Control': 'max-age=86400' }).end();
      return;
    }
    if (path === '/') {
      send(req, res, 302, 'text/plain; charset=utf-8', 'see status/\n', { Location: 'status/' });
      return;
    }
    send(req, res, 404, 'text/plain; charset=utf-8', `not found: ${ENDPOINTS}`);
  };

  const status = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): void => {
    const rest = url.pathname === '/status' ? '' : url.pathname.slice('/status/'.length);
    const prefix = parseStatusPrefix(rest);
    const format = url.searchParams.get('format') ?? 'html';
    if (!['html', 'json', 'prettyjson'].includes(format)) {
      send(req, res, 400, 'text/plain; charset=utf-8', `format=${format}: expected html, json or prettyjson\n`);
      return;
    }
    const withHistory = format === 'html' || url.searchParams.get('history') === '1';
    const pointsText = url.searchParams.get('points');
    if (pointsText !== null && !/^[1-9][0-9]{0,5}$/.test(pointsText)) {
      send(req, res, 400, 'text/plain; charset=utf-8', `points=${pointsText}: expected a whole number from 1\n`);
      return;
    }
    const tree =
      prefix === undefined
        ? undefined
        : buildStatusTree(metrics.snapshot(), {
            prefix,
            targets,
            history: withHistory ? history : undefined,
            historyPoints: pointsText === null ? undefined : Number(pointsText),
          });
    if (!tree) {
      const what = `no metric under ${JSON.stringify(prefix ?? rest)}`;
      if (format === 'html') send(req, res, 404, 'text/plain; charset=utf-8', `${what}\n`);
      else send(req, res, 404, 'application/json; charset=utf-8', `${JSON.stringify({ error: what })}\n`);
      return;
    }
    if (format !== 'html') {
      send(req, res, 200, 'application/json; charset=utf-8', statusTreeJson(tree, format === 'prettyjson'));
      return;
    }
    // Links are written relative to /status/, wherever the page is: one "../" per "/" after /status/.
    const baseHref = url.pathname === '/status' ? 'status/' : `./${'../'.repeat(rest.split('/').length - 1)}`;
    const nonce = crypto.randomBytes(16).toString('base64');
    const page = renderStatusPage({ prefix: tree.prefix, json: statusTreeJson(tree), baseHref, nonce });
    send(req, res, 200, 'text/html; charset=utf-8', page, { 'Content-Security-Policy': statusPageCsp(nonce) });
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      log(`http: ${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', `internal error: ${(error as Error).message}\n`);
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(new HttpOptionError(`address ${JSON.stringify(options.address)}: cannot listen: ${error.code ?? error.message}`));
    server.once('error', fail);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', fail);
      resolve();
    });
  });
  server.on('error', (error) => log(`http: ${error.message}`));

  const bound = server.address() as { address: string; port: number };
  const hostText = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  const url = `http://${hostText}:${bound.port}/`;

  let sampling: NodeJS.Timeout | undefined;
  if (history) {
    let failing = false;
    const sample = () => {
      try {
        history.sample(metrics.snapshot());
        if (failing) log('http: history sampling works again');
        failing = false;
      } catch (error) {
        if (!failing) log(`http: history sampling failed: ${(error as Error).message}`);
        failing = true;
      }
    };
    sample();
    sampling = setInterval(sample, TICK_MS);
    sampling.unref();
  }

  log(`http: serving on ${url} (/metrics, /status, /healthz)${auth ? ' with basic auth' : ''}`);
  if (!listen.loopback && !auth)
    log(`http: ${options.address} is reachable from other machines and has no --http-auth`);
  if (!listen.loopback && auth)
    log('http: basic auth over plain HTTP sends the password readably on every request: put TLS in front');

  return {
    address: bound.address,
    port: bound.port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (sampling) clearInterval(sampling);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  let payload: Buffer = Buffer.from(body, 'utf8');
  const out: Record<string, string | number> = {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  };
  if (payload.length >= GZIP_MIN_BYTES && acceptsGzip(req.headers['accept-encoding'])) {
    payload = zlib.gzipSync(payload);
    out['Content-Encoding'] = 'gzip';
  }
  if (!('Vary' in out)) out.Vary = 'Accept-Encoding';
  out['Content-Length'] = payload.length;
  res.writeHead(status, out);
  res.end(req.method === 'HEAD' ? undefined : payload);
}

function digest(text: string): Buffer {
  return crypto.createHash('sha256').update(text, 'utf8').digest();
}

/** Compares digests in constant time, so the response time tells nothing about the password. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  return crypto.timingSafeEqual(digest(Buffer.from(m[1], 'base64').toString('utf8')), expected);
}
