'use strict';
// Several processes incrementing one region at once. The driver (runContention) creates the region,
// spawns each worker as its own `node` process, and checks the final counts; each worker
// (`node bench/contend.js worker ...`) opens the region, warms up on a private counter, waits at a
// shared-memory spin barrier, then times its increments.
//
// Throughput = all increments / (last worker's end - first worker's start), both read from
// CLOCK_MONOTONIC (process.hrtime), which every process on the machine shares.

const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { regionPath, removeRegionsOf } = require('./regions');

const WORKER_TIMEOUT_MS = 120_000;

// The runs the report shows. Lane increments are ~1 ns, so they need many ops to last long enough
// to time across processes; the no-lane run (atomic, contended) is ~20x slower per op.
const CONTENTION_CONFIGS = {
  'contend-1p': { title: '1 process alone (own lane)', workers: 1, shared: true, lanes: true, ops: 200_000_000, warmup: 1_000_000 },
  'contend-2p-same': { title: '2 processes, same counter (one lane each)', workers: 2, shared: true, lanes: true, ops: 200_000_000, warmup: 1_000_000 },
  'contend-2p-separate': { title: '2 processes, separate counters (one lane each)', workers: 2, shared: false, lanes: true, ops: 200_000_000, warmup: 1_000_000 },
  'contend-2p-same-nolane': { title: '2 processes, same counter, no lanes (Atomics.add on the shared base)', workers: 2, shared: true, lanes: false, ops: 10_000_000, warmup: 1_000_000 },
};
const BARRIER = 'bench.barrier';

// Workers loop over this one function for both the warm-up and the timed pass, so it is optimized for
// the handle class it sees before timing starts.
function incLoop(c, n) {
  for (let i = 0; i < n; i++) c.inc();
}

function worker([path, id, counterName, opsArg, warmupArg, partiesArg, laneWanted]) {
  const { Metrics } = require('../dist');
  const ops = Number(opsArg);
  const warmup = Number(warmupArg);
  const parties = Number(partiesArg);
  const m = Metrics.open({ path, create: false });
  const lane = m.info().lane;
  if ((laneWanted === 'lane') !== lane >= 0) throw new Error(`worker ${id}: expected ${laneWanted}, got lane ${lane}`);
  const c = m.counter(counterName);
  const warm = m.counter(`bench.warm.${id}`);
  for (let pass = 0; pass < 3; pass++) incLoop(warm, warmup);

  // Spin barrier: every worker has warmed up before any starts timing.
  const barrier = m.counter(BARRIER);
  barrier.inc();
  while (barrier.get() < parties);

  const t0 = process.hrtime.bigint();
  incLoop(c, ops);
  const t1 = process.hrtime.bigint();
  m.close();
  process.stdout.write(`${JSON.stringify({ id, lane, start: String(t0), end: String(t1) })}\n`);
}

function spawnWorker(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, 'worker', ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      removeRegionsOf([child.pid]);
      if (code !== 0) resolve({ ok: false, error: `worker exit ${signal || code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}` });
      else resolve({ ok: true, ...JSON.parse(stdout) });
    });
  });
}

/**
 * One contention run. config: { workers, shared (all on one counter, else one counter each),
 * lanes (workers own lanes, else every lane is held by this driver so workers use Atomics.add on
 * the shared base), ops (per worker), warmup }.
 */
async function runContention(config, tag) {
  const { Metrics } = require('../dist');
  const path = regionPath(`contend-${tag}`);
  const counterOf = (w) => (config.shared ? 'bench.contend.shared' : `bench.contend.w${w}`);
  const driver = Metrics.open({ path, ...(config.lanes ? {} : { lanes: 1 }) });
  try {
    for (let w = 0; w < config.workers; w++) {
      driver.counter(counterOf(w));
      driver.counter(`bench.warm.${w}`);
    }
    driver.counter(BARRIER);
    // With lanes, the driver lets its lane go so it takes no part; without, it keeps the only lane.
    if (config.lanes) driver.close();

    const runs = await Promise.all(
      Array.from({ length: config.workers }, (_, w) =>
        spawnWorker([path, w, counterOf(w), config.ops, config.warmup, config.workers, config.lanes ? 'lane' : 'no-lane']),
      ),
    );
    const failed = runs.find((r) => !r.ok);
    if (failed) return { ok: false, error: failed.error };

    const check = Metrics.open({ path, create: false });
    const expected = new Map();
    for (let w = 0; w < config.workers; w++) expected.set(counterOf(w), (expected.get(counterOf(w)) ?? 0) + config.ops);
    const mismatches = [];
    for (const [name, want] of expected) {
      const got = check.get(name);
      if (got !== want) mismatches.push(`${name} = ${got}, expected ${want}`);
    }
    check.close();
    if (mismatches.length) return { ok: false, error: `lost or extra updates: ${mismatches.join('; ')}` };

    const start = runs.reduce((a, r) => (BigInt(r.start) < a ? BigInt(r.start) : a), BigInt(runs[0].start));
    const end = runs.reduce((a, r) => (BigInt(r.end) > a ? BigInt(r.end) : a), BigInt(runs[0].end));
    const totalOps = config.ops * config.workers;
    const wallNs = Number(end - start);
    return {
      ok: true,
      totalOps,
      wallNs,
      mopsPerSec: (totalOps / wallNs) * 1e3,
      workerNsPerOp: runs.map((r) => Number(BigInt(r.end) - BigInt(r.start)) / config.ops),
      lanes: runs.map((r) => r.lane),
      check: `${[...expected].map(([n, v]) => `${n} = ${v}`).join(', ')}`,
    };
  } finally {
    driver.close();
    fs.rmSync(path, { force: true });
  }
}

if (require.main === module && process.argv[2] === 'worker') {
  try {
    worker(process.argv.slice(3));
  } catch (error) {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 2;
  }
}

module.exports = { runContention, CONTENTION_CONFIGS };
