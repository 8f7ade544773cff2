'use strict';
// The stats pushers with 10,000 metrics: how long a push cycle holds the event loop, and how the rest of
// the work (formatting, sending, writing) is spread over later turns of the loop.
//
//   npm run build:ts && node bench/push.js [--metrics N] [--cycles N]
//
// For each pusher (statsd, socket, file) and for all three at once, every cycle measures:
//   sync      the synchronous part of the cycle: PushScheduler.pushNow() (snapshot, samples, filters,
//             handing over to the pushers, resets) — the number the 5 ms budget is about;
//   turns     how long the event loop was unavailable, turn by turn, while the pushers worked afterwards
//             (the gaps between two turns of a setImmediate heartbeat): the 99th percentile and the
//             longest (the longest includes garbage collection, and, on a loaded machine, waiting for a CPU);
//   drained   when every datagram was handed to the kernel / the document was appended.
// Then, for comparison, what a user would otherwise write: hot-shots (buffered, maxBufferSize 1432)
// sending the same 10,000 values as gauges, all in one synchronous loop.
//
// The UDP receiver is a separate process (the sink), so the numbers do not include receiving.

const { fork } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

if (process.argv[2] === 'sink') {
  const socket = dgram.createSocket('udp4');
  const totals = { datagrams: 0, bytes: 0 };
  socket.on('message', (message) => {
    totals.datagrams++;
    totals.bytes += message.length;
  });
  socket.bind(0, '127.0.0.1', () => {
    try {
      socket.setRecvBufferSize(8 * 1024 * 1024);
    } catch {
      // The kernel's default.
    }
    process.send({ port: socket.address().port });
  });
  process.on('message', (message) => {
    if (message === 'totals') process.send({ totals });
  });
  process.on('disconnect', () => process.exit(0));
  return;
}

const { Metrics } = require('../dist/metrics');
const { PushScheduler } = require('../dist/push');

function parseArgs(argv) {
  const options = { metrics: 10_000, cycles: 15 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in options)) usage(`unknown argument ${argv[i]}`);
    options[key] = Number(argv[++i]);
    if (!Number.isInteger(options[key]) || options[key] < 1) usage(`--${key} needs a positive integer`);
  }
  return options;
}

function usage(message) {
  process.stderr.write(`${message}\nusage: node bench/push.js [--metrics N] [--cycles N]\n`);
  process.exit(2);
}

function startSink() {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['sink'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', ({ port }) =>
      resolve({
        port,
        totals: () =>
          new Promise((done) => {
            child.once('message', (m) => done(m.totals));
            child.send('totals');
          }),
        stop: () => child.disconnect(),
      }),
    );
    child.once('error', reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records every gap between two turns of the event loop (a setImmediate heartbeat) until stopped. */
function heartbeat(gaps) {
  let last = performance.now();
  let running = true;
  const beat = () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    if (running) setImmediate(beat);
  };
  setImmediate(beat);
  return {
    stop() {
      running = false;
    },
  };
}

const WARMUP_CYCLES = 2;
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => x.toFixed(2);

function defineMetrics(metrics, count) {
  const handles = [];
  for (let i = 0; i < count; i++) {
    const group = `app.component-${String(i % 100).padStart(2, '0')}`;
    if (i % 10 === 0) handles.push(metrics.define(`name=${group}.requests-${i},reset_after_push=1`));
    else if (i % 3 === 0) handles.push(metrics.gauge(`${group}.level-${i}`));
    else handles.push(metrics.counter(`${group}.events-${i}`));
  }
  return handles;
}

/** Changes every `stride`-th metric (1: all of them). */
function touch(handles, cycle, stride) {
  for (let i = cycle % stride; i < handles.length; i += stride) {
    const h = handles[i];
    if (h.type === 'gauge') h.set(((i * 7919 + cycle) % 2001) - 1000);
    else h.inc((i + cycle) % 5);
  }
}

async function waitDrained(scheduler, names) {
  const deadline = Date.now() + 30_000;
  const pushers = names.map((name) => scheduler.pusher(name));
  while (!pushers.every((p) => (p.sender ? p.sender.idle : p.idle))) {
    if (Date.now() > deadline) throw new Error('not drained after 30 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function runScenario(label, specs, stride, options, sink, dir) {
  const region = path.join('/dev/shm', `shmetrics-bench-push-${process.pid}-${label}`);
  const metrics = Metrics.open({ path: region, capacity: options.metrics + 100 });
  try {
    const handles = defineMetrics(metrics, options.metrics);
    const scheduler = new PushScheduler(metrics, { log: (line) => process.stderr.write(`  log: ${line}\n`) });
    const file = path.join(dir, `${label}.json`);
    const names = specs.map((spec) => scheduler.add(spec.replace('$PORT', String(sink.port)).replace('$FILE', file)));
    const sync = [];
    const gaps = [];
    const drains = [];
    const before = await sink.totals();
    // Cycles 0 and 1 warm up (first formatting, JIT) and are not counted.
    for (let cycle = 0; cycle < options.cycles + WARMUP_CYCLES; cycle++) {
      touch(handles, cycle, stride);
      await sleep(20);
      const beat = heartbeat(cycle < WARMUP_CYCLES ? [] : gaps);
      const start = performance.now();
      scheduler.pushNow();
      const syncMs = performance.now() - start;
      await waitDrained(scheduler, names);
      const drainMs = performance.now() - start;
      beat.stop();
      if (cycle < WARMUP_CYCLES) continue;
      sync.push(syncMs);
      drains.push(drainMs);
    }
    await scheduler.close();
    await sleep(200);
    const after = await sink.totals();
    const fileBytes = fs.existsSync(file) ? fs.statSync(file).size : 0;
    sync.sort((a, b) => a - b);
    gaps.sort((a, b) => a - b);
    drains.sort((a, b) => a - b);
    return {
      label,
      sync: { median: quantile(sync, 0.5), p95: quantile(sync, 0.95), max: sync.at(-1) },
      turns: { p99: quantile(gaps, 0.99), max: gaps.at(-1) },
      drainMedian: quantile(drains, 0.5),
      datagramsPerCycle: (after.datagrams - before.datagrams) / (options.cycles + WARMUP_CYCLES + 1),
      bytesPerCycle: (after.bytes - before.bytes) / (options.cycles + WARMUP_CYCLES + 1),
      fileBytesPerCycle: fileBytes / (options.cycles + WARMUP_CYCLES + 1),
    };
  } finally {
    metrics.close();
    fs.rmSync(region, { force: true });
  }
}

async function runHotShots(options, sink) {
  let StatsD;
  try {
    StatsD = require('hot-shots');
  } catch {
    return undefined;
  }
  const client = new StatsD({ host: '127.0.0.1', port: sink.port, maxBufferSize: 1432, errorHandler: () => {} });
  const names = [];
  for (let i = 0; i < options.metrics; i++) names.push(`app.component-${String(i % 100).padStart(2, '0')}.level-${i}`);
  const sync = [];
  for (let cycle = 0; cycle < options.cycles + WARMUP_CYCLES; cycle++) {
    await sleep(20);
    const start = performance.now();
    for (let i = 0; i < names.length; i++) client.gauge(names[i], ((i * 7919 + cycle) % 2001) - 1000);
    const elapsed = performance.now() - start;
    if (cycle >= WARMUP_CYCLES) sync.push(elapsed);
  }
  await new Promise((resolve) => client.close(resolve));
  sync.sort((a, b) => a - b);
  return { median: quantile(sync, 0.5), p95: quantile(sync, 0.95), max: sync.at(-1) };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const sink = await startSink();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmetrics-bench-push-'));
  const pushers = [
    ['statsd', ['statsd:127.0.0.1:$PORT']],
    ['socket', ['socket:127.0.0.1:$PORT']],
    ['file', ['file:path=$FILE']],
    ['all three', ['statsd:127.0.0.1:$PORT', 'socket:127.0.0.1:$PORT', 'file:path=$FILE']],
  ];
  // Every value changed since the previous cycle (the worst case), and one in ten.
  const changes = [
    [1, 'all changed'],
    [10, `${(options.metrics / 10).toLocaleString('en')} changed`],
  ];
  const results = [];
  try {
    for (const [stride, changed] of changes)
      for (const [label, specs] of pushers) {
        process.stderr.write(`${label}, ${changed}...\n`);
        results.push({ ...(await runScenario(`${label.replace(/ /g, '-')}-${stride}`, specs, stride, options, sink, dir)), label: `${label}, ${changed}` });
      }
    process.stderr.write('hot-shots...\n');
    const hotShots = await runHotShots(options, sink);
    console.log(`\nStats pushers, ${options.metrics.toLocaleString('en')} metrics, ${options.cycles} cycles (node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()})\n`);
    console.log('| pushers | sync part of a cycle: median / p95 / max (ms) | turns after it: p99 / max (ms) | drained after (ms) | per cycle |');
    console.log('|---|---|---|---|---|');
    for (const r of results) {
      const sent = [];
      if (r.datagramsPerCycle > 0) sent.push(`${Math.round(r.datagramsPerCycle)} datagrams, ${Math.round(r.bytesPerCycle / 1024)} KiB`);
      if (r.fileBytesPerCycle > 0) sent.push(`${Math.round(r.fileBytesPerCycle / 1024)} KiB of JSON`);
      console.log(
        `| ${r.label} | ${ms(r.sync.median)} / ${ms(r.sync.p95)} / ${ms(r.sync.max)} | ${ms(r.turns.p99)} / ${ms(r.turns.max)} | ${ms(r.drainMedian)} | ${sent.join('; ')} |`,
      );
    }
    if (hotShots)
      console.log(
        `| hot-shots, ${options.metrics.toLocaleString('en')} gauge() calls in a loop (buffered, 1432 B) | ${ms(hotShots.median)} / ${ms(hotShots.p95)} / ${ms(hotShots.max)} | (all of it synchronous) | | |`,
      );
  } finally {
    sink.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
