'use strict';
// The measured loops. Each variant runs alone in a fresh `node` process (bench/child.js), and each has
// its own loop function, so the loop's type feedback is monomorphic and no variant's JIT state leaks
// into another's.
//
// A variant is { title, unit, ops, warmup, setup(), loop(state, n), check(state, totalOps), teardown(state) }:
//   ops      operations in the timed loop; warmup: operations in each of WARMUP_PASSES untimed passes
//   unit     how the report shows the time per operation: 'ns', 'us' or 'ms'
//   check    gets the number of operations made over all passes and resolves to { ok, detail }: a
//            counter must equal the number of increments made, a gauge the last value set, a read
//            the sum expected; a variant that fails must not report a number
//   env      extra environment for the child (set before the region is opened)
//   opsStep  every op count given to loop() is a multiple of this (default 1)

const fs = require('node:fs');
const { regionPath } = require('./regions');

// Three warm-up passes: enough for TurboFan to optimize the loop (and OSR it) before the timed pass.
const WARMUP_PASSES = 3;

// The snapshot and by-name read variants use a region of this many counters.
const SNAPSHOT_METRICS = 10_000;

// prom-client and hot-shots are loaded only by the variants that use them, so a shmetrics child never
// carries their module graph (and vice versa).
const shm = () => require('../dist');
const prom = () => require('prom-client');

function openShm(tag, options = {}) {
  const path = regionPath(tag);
  return { path, m: shm().Metrics.open({ path, ...options }) };
}

function closeShm(...instances) {
  const paths = new Set();
  for (const { path, m } of instances) {
    m.close();
    paths.add(path);
  }
  for (const path of paths) fs.rmSync(path, { force: true });
}

// Where a loop adds up what it read. A Float64Array element, not an object field: a field that starts
// as a small integer and grows past 2^31 changes representation, which deoptimizes the loop that
// stores to it (the first benchmark runs showed this as 15 B/op of boxed doubles in some processes).
const accumulator = () => new Float64Array(1);

function equal(what, got, want) {
  return got === want ? { ok: true, detail: `${what} = ${want}` } : { ok: false, detail: `${what} = ${got}, expected ${want}` };
}

async function promValue(metric, labels = {}) {
  const { values } = await metric.get();
  const entry = values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return entry ? entry.value : undefined;
}

const variants = {
  'shm-handle-inc': {
    title: 'shmetrics handle `c.inc()`',
    unit: 'ns',
    ops: 200_000_000,
    warmup: 1_000_000,
    setup() {
      const r = openShm();
      if (r.m.valueAccess !== 'typed-array') throw new Error(`expected typed-array values, got ${r.m.valueAccess}`);
      if (r.m.info().lane < 0) throw new Error('expected this process to own a lane');
      return { r, c: r.m.counter('worker.1.requests') };
    },
    loop: function shmHandleInc(s, n) {
      const c = s.c;
      for (let i = 0; i < n; i++) c.inc();
    },
    check: (s, total) => equal('c.get()', s.c.get(), total),
    teardown: (s) => closeShm(s.r),
  },

  'prom-inc': {
    title: 'prom-client `Counter.inc()`',
    unit: 'ns',
    ops: 200_000_000,
    warmup: 1_000_000,
    setup() {
      const { Counter } = prom();
      return { c: new Counter({ name: 'bench_requests_total', help: 'benchmark counter' }) };
    },
    loop: function promInc(s, n) {
      const c = s.c;
      for (let i = 0; i < n; i++) c.inc();
    },
    check: async (s, total) => equal('counter value', await promValue(s.c), total),
  },

  'shm-name-inc': {
    title: "shmetrics by name `m.inc('worker.1.requests')`",
    unit: 'ns',
    ops: 50_000_000,
    warmup: 1_000_000,
    setup() {
      const r = openShm();
      r.m.counter('worker.1.requests');
      return { r, m: r.m };
    },
    loop: function shmNameInc(s, n) {
      const m = s.m;
      for (let i = 0; i < n; i++) m.inc('worker.1.requests');
    },
    check: (s, total) => equal("m.get('worker.1.requests')", s.m.get('worker.1.requests'), total),
    teardown: (s) => closeShm(s.r),
  },

  'prom-labelled-inc': {
    title: "prom-client labelled `c.inc({ route: 'a' })`",
    unit: 'ns',
    ops: 5_000_000,
    warmup: 500_000,
    setup() {
      const { Counter } = prom();
      return { c: new Counter({ name: 'bench_route_requests_total', help: 'benchmark counter', labelNames: ['route'] }) };
    },
    loop: function promLabelledInc(s, n) {
      const c = s.c;
      for (let i = 0; i < n; i++) c.inc({ route: 'a' });
    },
    check: async (s, total) => equal('counter{route="a"}', await promValue(s.c, { route: 'a' }), total),
  },

  'hotshots-inc': {
    title: "hot-shots `increment('x')`, 8 KiB buffer, UDP",
    unit: 'ns',
    ops: 1_000_000,
    warmup: 100_000,
    // Every datagram the client sends, by number of `x:1|c` lines: the runner compares it with what the
    // sink received (UDP may drop; the client must not report errors).
    usesSink: true,
    opsStep: 1000,
    setup() {
      const port = Number(process.env.BENCH_SINK_PORT);
      if (!port) throw new Error('BENCH_SINK_PORT is not set');
      const StatsD = require('hot-shots');
      const s = { errors: 0, lastError: undefined };
      s.client = new StatsD({
        host: '127.0.0.1',
        port,
        maxBufferSize: 8192,
        errorHandler: (error) => {
          s.errors++;
          s.lastError = error;
        },
      });
      return s;
    },
    // Yields to the event loop every 1,000 calls so the buffered datagrams really go out; the yields
    // are inside the timed loop on purpose (that is what sending costs an application).
    loop: async function hotShotsIncrement(s, n) {
      const client = s.client;
      for (let i = 0; i < n; i += 1000) {
        for (let j = 0; j < 1000; j++) client.increment('x');
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    check: (s) => (s.errors === 0 ? { ok: true, detail: 'no client errors' } : { ok: false, detail: `${s.errors} client errors, last: ${s.lastError}` }),
    teardown: (s) => new Promise((resolve) => s.client.close(resolve)),
  },

  'shm-gauge-set': {
    title: 'shmetrics gauge handle `g.set(i)`',
    unit: 'ns',
    ops: 50_000_000,
    warmup: 1_000_000,
    setup() {
      const r = openShm();
      return { r, g: r.m.gauge('worker.1.inflight') };
    },
    loop: function shmGaugeSet(s, n) {
      const g = s.g;
      for (let i = 0; i < n; i++) g.set(i);
      s.last = n - 1;
    },
    check: (s) => equal('g.get()', s.g.get(), s.last),
    teardown: (s) => closeShm(s.r),
  },

  'prom-gauge-set': {
    title: 'prom-client `Gauge.set(i)`',
    unit: 'ns',
    ops: 20_000_000,
    warmup: 1_000_000,
    setup() {
      const { Gauge } = prom();
      return { g: new Gauge({ name: 'bench_inflight', help: 'benchmark gauge' }) };
    },
    loop: function promGaugeSet(s, n) {
      const g = s.g;
      for (let i = 0; i < n; i++) g.set(i);
      s.last = n - 1;
    },
    check: async (s) => equal('gauge value', await promValue(s.g), s.last),
  },

  'shm-histogram-observe': {
    title: 'shmetrics histogram `h.observe(v)` (82 loglinear buckets)',
    unit: 'ns',
    ops: 20_000_000,
    warmup: 1_000_000,
    setup() {
      const r = openShm('hist');
      return { r, h: r.m.histogram('bench.latency', 'loglinear:100:100000000:4') };
    },
    loop: function shmHistogramObserve(s, n) {
      const h = s.h;
      for (let i = 0; i < n; i++) h.observe(100 + (i & 65535));
    },
    check: (s, total) => equal('histogram count', s.h.get(), total),
    teardown: (s) => closeShm(s.r),
  },

  'prom-histogram-observe': {
    title: 'prom-client `Histogram.observe(v)` (default buckets)',
    unit: 'ns',
    ops: 5_000_000,
    warmup: 500_000,
    setup() {
      const { Histogram } = prom();
      return { h: new Histogram({ name: 'bench_latency', help: 'benchmark histogram' }) };
    },
    loop: function promHistogramObserve(s, n) {
      const h = s.h;
      for (let i = 0; i < n; i++) h.observe((i & 65535) / 10000);
    },
    check: async (s, total) => {
      const { values } = await s.h.get();
      const count = values.find((v) => v.metricName === 'bench_latency_count').value;
      return equal('histogram count', count, total);
    },
  },

  'shm-counter-get': {
    title: 'shmetrics handle `c.get()` (value in 2 lanes)',
    unit: 'ns',
    ops: 50_000_000,
    warmup: 1_000_000,
    setup() {
      // Two instances in one thread hold two lanes, so get() sums base + 2 lanes as it would with
      // two writer processes.
      const a = openShm();
      const b = { path: a.path, m: shm().Metrics.open({ path: a.path }) };
      a.m.counter('worker.1.requests').inc(40);
      b.m.counter('worker.1.requests').inc(2);
      if (a.m.info().lane === b.m.info().lane) throw new Error('expected two lanes');
      return { a, b, c: a.m.counter('worker.1.requests'), sum: accumulator() };
    },
    loop: function shmCounterGet(s, n) {
      const c = s.c;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += c.get();
      s.sum[0] += sum;
    },
    check: (s, total) => equal('sum of get()', s.sum[0], 42 * total),
    teardown: (s) => closeShm(s.b, s.a),
  },

  'shm-inc-nolane': {
    title: 'shmetrics handle `c.inc()`, no lane (Atomics.add on the shared base)',
    unit: 'ns',
    ops: 20_000_000,
    warmup: 1_000_000,
    setup() {
      // A one-lane region opened twice: the first instance holds the lane, the second has none.
      const holder = openShm('', { lanes: 1 });
      const r = { path: holder.path, m: shm().Metrics.open({ path: holder.path }) };
      if (r.m.info().lane !== -1) throw new Error(`expected no lane, got lane ${r.m.info().lane}`);
      return { holder, r, c: r.m.counter('worker.1.requests') };
    },
    loop: function shmIncNoLane(s, n) {
      const c = s.c;
      for (let i = 0; i < n; i++) c.inc();
    },
    check: (s, total) => equal('c.get()', s.c.get(), total),
    teardown: (s) => closeShm(s.r, s.holder),
  },

  'shm-inc-native': {
    title: 'shmetrics handle `c.inc()`, SHMETRICS_FORCE_NATIVE_VALUES=1 (N-API call)',
    unit: 'ns',
    ops: 5_000_000,
    warmup: 500_000,
    env: { SHMETRICS_FORCE_NATIVE_VALUES: '1' },
    setup() {
      const r = openShm();
      if (r.m.valueAccess !== 'native') throw new Error(`expected native values, got ${r.m.valueAccess}`);
      return { r, c: r.m.counter('worker.1.requests') };
    },
    loop: function shmIncNative(s, n) {
      const c = s.c;
      for (let i = 0; i < n; i++) c.inc();
    },
    check: (s, total) => equal('c.get()', s.c.get(), total),
    teardown: (s) => closeShm(s.r),
  },

  'shm-snapshot-10k': {
    title: `shmetrics \`m.snapshot()\`, ${SNAPSHOT_METRICS.toLocaleString('en-US')} counters, 2 lanes`,
    unit: 'us',
    ops: 5_000,
    warmup: 200,
    setup: () => setupTenThousand(),
    loop: function shmSnapshot(s, n) {
      const m = s.a.m;
      let seen = 0;
      for (let i = 0; i < n; i++) seen += m.snapshot().values.length;
      s.seen[0] += seen;
    },
    check(s, total) {
      if (s.seen[0] !== SNAPSHOT_METRICS * total) return equal('values seen', s.seen[0], SNAPSHOT_METRICS * total);
      return checkTenThousand(s, s.a.m.snapshot());
    },
    teardown: (s) => closeShm(s.b, s.a),
  },

  'shm-get-10k': {
    title: `shmetrics by name \`m.get(name)\` over ${SNAPSHOT_METRICS.toLocaleString('en-US')} counters (per full pass)`,
    unit: 'us',
    ops: 1_000,
    warmup: 50,
    setup: () => setupTenThousand(),
    loop: function shmGetByNamePass(s, n) {
      const m = s.a.m;
      const names = s.names;
      let sum = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < names.length; j++) sum += m.get(names[j]);
      s.sum[0] += sum;
    },
    check(s, total) {
      // Value of counter j is j + 1, so one pass sums to N(N+1)/2.
      const perPass = (SNAPSHOT_METRICS * (SNAPSHOT_METRICS + 1)) / 2;
      return equal('sum of m.get()', s.sum[0], perPass * total);
    },
    teardown: (s) => closeShm(s.b, s.a),
  },

  'shm-metrics-dir-1000': {
    title: `metrics-dir flush, 1,000 of ${SNAPSHOT_METRICS.toLocaleString('en-US')} metrics changed (tmpfs)`,
    unit: 'ms',
    ops: 300,
    warmup: 20,
    setup: () => setupMetricsDir(),
    loop: function metricsDirFlushChanged(s, n) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 1000; j++) s.handles[j * 10].inc();
        s.written[0] += s.view.flush();
      }
    },
    check: (s, total) => equal('files written', s.written[0], 1000 * total),
    teardown: teardownMetricsDir,
  },

  'shm-metrics-dir-0': {
    title: `metrics-dir flush, nothing of ${SNAPSHOT_METRICS.toLocaleString('en-US')} metrics changed`,
    unit: 'ms',
    ops: 300,
    warmup: 20,
    setup: () => setupMetricsDir(),
    loop: function metricsDirFlushUnchanged(s, n) {
      for (let i = 0; i < n; i++) s.written[0] += s.view.flush();
    },
    check: (s) => equal('files written', s.written[0], 0),
    teardown: teardownMetricsDir,
  },
};

/** A region of SNAPSHOT_METRICS counters viewed as a metrics-dir under /dev/shm, all files written once. */
function setupMetricsDir() {
  const r = openShm('mdir', { capacity: SNAPSHOT_METRICS, valueCapacity: SNAPSHOT_METRICS });
  const handles = [];
  for (let j = 0; j < SNAPSHOT_METRICS; j++) handles.push(r.m.counter(`bench.dir.${j}`));
  const dir = `${r.path}.d`;
  const { MetricsDirView } = require('../dist/metrics-dir/metrics-dir-view');
  const view = new MetricsDirView(r.m, { dir });
  view.flush();
  return { r, dir, view, handles, written: accumulator() };
}

function teardownMetricsDir(s) {
  closeShm(s.r);
  fs.rmSync(s.dir, { recursive: true, force: true });
}

/** A region of SNAPSHOT_METRICS counters; counter j is j + 1, written as j from lane A and 1 from lane B. */
function setupTenThousand() {
  const a = openShm('', { capacity: SNAPSHOT_METRICS, valueCapacity: SNAPSHOT_METRICS });
  const b = { path: a.path, m: shm().Metrics.open({ path: a.path }) };
  if (a.m.info().lane === b.m.info().lane || b.m.info().lane < 0) throw new Error('expected two lanes');
  const names = [];
  for (let j = 0; j < SNAPSHOT_METRICS; j++) {
    const name = `bench.snap.${j}`;
    names.push(name);
    if (j > 0) a.m.counter(name).inc(j);
    b.m.counter(name).inc(1);
  }
  return { a, b, names, seen: accumulator(), sum: accumulator() };
}

function checkTenThousand(s, snap) {
  if (snap.metrics.length !== SNAPSHOT_METRICS) return equal('metrics in snapshot', snap.metrics.length, SNAPSHOT_METRICS);
  for (let j = 0; j < SNAPSHOT_METRICS; j++) {
    const info = snap.metrics[j];
    const want = Number(info.name.slice('bench.snap.'.length)) + 1;
    if (snap.value(info) !== want) return equal(`snapshot value of ${info.name}`, snap.value(info), want);
  }
  return { ok: true, detail: `${SNAPSHOT_METRICS} values exact` };
}

module.exports = { variants, WARMUP_PASSES, SNAPSHOT_METRICS };
