'use strict';
// The HTTP output's benchmark (standalone; needs dist/: `npm run build:ts`):
//
//   node bench/http.js [--workers N] [--metrics N] [--reps N] [--quick]
//
// A master-like region: the built-in metrics of N workers (each with its response_time histogram of
// 80 bounds, filled) and M application counters. Measured, median of the repetitions:
//   1. rendering the Prometheus exposition (snapshot included), text 0.0.4 and OpenMetrics;
//   2. a whole scrape, GET /metrics over loopback with keep-alive (and with gzip);
//   3. /status JSON: the whole tree with its 300 s of sparklines, and the page's per-second poll;
// and, in the same run, what users would run instead with prom-client 15: one registry holding the same
// series (`register.metrics()`), and its cluster mode (`AggregatorRegistry.clusterMetrics()`) over N
// cluster workers, each holding its share, which is what a multi-process app needs.
// Progress goes to stderr, a markdown report to stdout.

const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');

function parseArgs(argv) {
  const options = { workers: 4, metrics: 1000, reps: 200 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') Object.assign(options, { reps: 20 });
    else if (['--workers', '--metrics', '--reps'].includes(arg)) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) usage(`${arg} needs a positive integer, got ${argv[i]}`);
      options[arg.slice(2)] = value;
    } else usage(`unknown argument ${arg}`);
  }
  return options;
}

function usage(message) {
  process.stderr.write(`${message}\nusage: node bench/http.js [--workers N] [--metrics N] [--reps N] [--quick]\n`);
  process.exit(2);
}

/** prom-client metrics of one process: `metrics` counters and one histogram, labelled by worker. */
function promClientMetrics(client, register, options, workerIds, bounds) {
  const counters = [];
  for (let i = 0; i < options.metrics; i++) counters.push(new client.Counter({ name: `app_c${i}_total`, help: 'x', registers: [register] }));
  const histogram = new client.Histogram({ name: 'worker_response_time', help: 'x', labelNames: ['worker'], buckets: bounds, registers: [register] });
  for (const [i, c] of counters.entries()) c.inc(i);
  for (const id of workerIds) for (let k = 0; k < 200; k++) histogram.observe({ worker: String(id) }, 100 + k * 997);
}

if (cluster.isWorker) {
  // A prom-client cluster worker: its share of the series, answering the primary's scrape requests.
  const client = require('prom-client');
  const options = JSON.parse(process.env.BENCH_OPTIONS);
  new client.AggregatorRegistry();
  promClientMetrics(client, client.register, options, [Number(process.env.BENCH_WORKER)], JSON.parse(process.env.BENCH_BOUNDS));
  process.send('ready');
  return;
}

const { Metrics, registerBuiltins } = require('../dist');
const { PrometheusExposition, serveMetrics, buildStatusTree, statusTreeJson, MetricHistory } = require('../dist/http');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function time(reps, fn) {
  for (let i = 0; i < Math.min(20, reps); i++) await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const start = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(ms);
}

function get(agent, port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
        let bytes = 0;
        res.on('data', (c) => (bytes += c.length));
        res.on('end', () => resolve(bytes));
      })
      .on('error', reject);
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const regionPath = `/dev/shm/shmetrics-bench-http-${process.pid}`;
  const m = Metrics.open({ path: regionPath, capacity: options.metrics + 64 * (options.workers + 1) + 64 });
  const rows = [];
  try {
    registerBuiltins(m, { workers: options.workers });
    for (let id = 0; id <= options.workers; id++) {
      m.inc(`worker.${id}.requests`, 1000 * id);
      for (let k = 0; k < 200; k++) m.observe(`worker.${id}.response_time`, 100 + k * 997);
    }
    for (let i = 0; i < options.metrics; i++) m.counter(`app.c${i}`).inc(i);
    const bounds = m.list().find((i) => i.name === 'worker.0.response_time').buckets;
    const exposition = new PrometheusExposition({ labelFrom: ['worker'] });
    const text = exposition.render(m.snapshot(), 'text');
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    process.stderr.write(`region: ${m.list().length} metrics, ${series} Prometheus samples, ${text.length} bytes of text\n`);

    process.stderr.write('shmetrics render...\n');
    rows.push(['shmetrics: snapshot + render text 0.0.4', await time(options.reps, () => exposition.render(m.snapshot(), 'text')), text.length]);
    rows.push(['shmetrics: snapshot + render OpenMetrics', await time(options.reps, () => exposition.render(m.snapshot(), 'openmetrics')), undefined]);

    const server = await serveMetrics(m, { address: '127.0.0.1:0', labelFrom: ['worker'], log: () => {} });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let bytes = 0;
    process.stderr.write('shmetrics scrape...\n');
    rows.push(['shmetrics: GET /metrics (loopback, keep-alive)', await time(options.reps, async () => (bytes = await get(agent, server.port, '/metrics'))), bytes]);
    rows.push([
      'shmetrics: GET /metrics with gzip',
      await time(options.reps, async () => (bytes = await get(agent, server.port, '/metrics', { 'Accept-Encoding': 'gzip' }))),
      bytes,
    ]);

    // /status with a full history window (300 samples) of every metric.
    const history = new MetricHistory(300);
    for (let i = 0; i < 300; i++) history.sample(m.snapshot());
    let json = '';
    rows.push(['shmetrics: /status JSON tree, whole 300 s history', await time(Math.ceil(options.reps / 4), () => (json = statusTreeJson(buildStatusTree(m.snapshot(), { history })))), json.length]);
    rows.push([
      'shmetrics: /status JSON tree, page poll (newest 4 points)',
      await time(options.reps, () => (json = statusTreeJson(buildStatusTree(m.snapshot(), { history, historyPoints: 4 })))),
      json.length,
    ]);
    agent.destroy();
    await server.close();

    process.stderr.write('prom-client, one registry...\n');
    const client = require('prom-client');
    const register = new client.Registry();
    promClientMetrics(client, register, options, Array.from({ length: options.workers + 1 }, (_, i) => i), bounds);
    let promText = '';
    rows.push(['prom-client: register.metrics(), one process', await time(options.reps, async () => (promText = await register.metrics())), promText.length]);

    process.stderr.write(`prom-client cluster mode, ${options.workers} workers...\n`);
    const aggregator = new client.AggregatorRegistry();
    cluster.setupPrimary({ exec: __filename, args: [], silent: true });
    const workers = [];
    for (let id = 1; id <= options.workers; id++) {
      const worker = cluster.fork({ BENCH_OPTIONS: JSON.stringify(options), BENCH_WORKER: String(id), BENCH_BOUNDS: JSON.stringify(bounds) });
      await new Promise((resolve) => worker.once('message', resolve));
      workers.push(worker);
    }
    rows.push([
      `prom-client: AggregatorRegistry.clusterMetrics(), ${options.workers} workers`,
      await time(Math.ceil(options.reps / 4), async () => (promText = await aggregator.clusterMetrics())),
      promText.length,
    ]);
    for (const w of workers) w.kill();
  } finally {
    m.close();
    require('node:fs').rmSync(regionPath, { force: true });
  }

  const cpus = os.cpus();
  console.log(`## HTTP output (${options.workers} workers, ${options.metrics} application counters; ${cpus.length} x ${cpus[0].model.trim()}, Node ${process.version})\n`);
  console.log('| what | ms (median) | bytes |');
  console.log('|---|---|---|');
  for (const [what, ms, size] of rows) console.log(`| ${what} | ${ms.toFixed(3)} | ${size === undefined ? '' : size.toLocaleString('en-US')} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
