'use strict';
// The shmetrics benchmark suite: `npm run bench` (builds dist/ first), or
//
//   node bench/run.js [--rounds N] [--quick] [--only id,id,...]
//
// Every variant runs in its own fresh `node` process; each round runs every variant and contention
// run once, in an order rotated by one each round. Prints markdown tables to stdout (progress goes to
// stderr) and writes the raw records to bench/results/<iso-date>.json.
//
// Exit code: 0 even when a performance target is missed (a benchmark reports; tests assert), 1 when a
// correctness check failed (a counter that lost or gained updates), 2 on a usage error.

const fs = require('node:fs');
const path = require('node:path');
const { variants, WARMUP_PASSES } = require('./variants');
const { runVariant } = require('./measure');
const { runContention, CONTENTION_CONFIGS } = require('./contend');
const { startSink } = require('./sink');
const { buildReport, machine } = require('./report');

const DEFAULT_ROUNDS = 5;
// --quick: one round with a tenth of the ops and a fifth of the warm-up; enough to smoke-test every
// variant and every check, not to quote.
const QUICK_OPS = 0.1;
const QUICK_WARMUP = 0.2;

function usage(message) {
  process.stderr.write(`${message}\nusage: node bench/run.js [--rounds N] [--quick] [--only id,id,...]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { rounds: DEFAULT_ROUNDS, quick: false, only: undefined };
  let roundsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--rounds') {
      options.rounds = Number(argv[++i]);
      roundsGiven = true;
      if (!Number.isInteger(options.rounds) || options.rounds < 1) usage(`--rounds needs a positive integer, got ${argv[i]}`);
    } else if (arg === '--only') {
      options.only = (argv[++i] || '').split(',').filter(Boolean);
    } else usage(`unknown argument ${arg}`);
  }
  if (options.quick && !roundsGiven) options.rounds = 1;
  const known = [...Object.keys(variants), ...Object.keys(CONTENTION_CONFIGS)];
  for (const id of options.only || []) if (!known.includes(id)) usage(`unknown id "${id}"; known: ${known.join(', ')}`);
  return options;
}

/** Op counts for this run; hot-shots yields every 1,000 calls, so its counts stay multiples of 1,000. */
function scaled(count, factor, multipleOf = 1) {
  return Math.max(multipleOf, Math.round((count * factor) / multipleOf) * multipleOf);
}

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function runJob(job, options, sink) {
  if (job.kind === 'contention') {
    const c = job.config;
    const config = options.quick ? { ...c, ops: scaled(c.ops, QUICK_OPS), warmup: scaled(c.warmup, QUICK_WARMUP) } : c;
    return { id: job.id, ...(await runContention(config, job.id)) };
  }
  const v = job.variant;
  const step = v.opsStep ?? 1;
  const ops = options.quick ? scaled(v.ops, QUICK_OPS, step) : v.ops;
  const warmup = options.quick ? scaled(v.warmup, QUICK_WARMUP, step) : v.warmup;
  const env = { ...(v.env || {}), ...(v.usesSink ? { BENCH_SINK_PORT: String(sink.port) } : {}) };
  const before = v.usesSink ? await sink.totals() : undefined;
  const run = await runVariant(job.id, { ops, warmup, env });
  if (v.usesSink && run.ok) {
    const after = await sink.settled();
    const sent = run.totalOps;
    const lines = after.lines - before.lines;
    run.delivery = { sent, received: lines, datagrams: after.datagrams - before.datagrams, bytes: after.bytes - before.bytes, fraction: lines / sent };
    if (lines === 0) Object.assign(run, { ok: false, error: 'the UDP sink received nothing: hot-shots did not send' });
    if (lines > sent) Object.assign(run, { ok: false, error: `the UDP sink received ${lines} lines, more than the ${sent} sent` });
  }
  return run;
}

function describe(job, run) {
  if (!run.ok) return `${job.id}: FAILED ${run.error}`;
  if (job.kind === 'contention') return `${job.id}: ${run.mopsPerSec.toFixed(1)} Mops/s (${run.check})`;
  const bytes = run.bytesPerOp ? `, ${run.bytesPerOp.toFixed(1)} B/op` : ', 0 B/op';
  const delivery = run.delivery ? `, sink got ${(run.delivery.fraction * 100).toFixed(2)} %` : '';
  return `${job.id}: ${run.nsPerOp.toFixed(2)} ns/op${bytes}${delivery}`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const machineInfo = machine();
  const wanted = (id) => !options.only || options.only.includes(id);

  const jobs = [
    ...Object.entries(variants).filter(([id]) => wanted(id)).map(([id, variant]) => ({ kind: 'variant', id, variant })),
    ...Object.entries(CONTENTION_CONFIGS).filter(([id]) => wanted(id)).map(([id, config]) => ({ kind: 'contention', id, config })),
  ];
  const needSink = jobs.some((j) => j.kind === 'variant' && j.variant.usesSink);
  const sink = needSink ? await startSink() : undefined;

  const rounds = [];
  const failures = [];
  try {
    for (let r = 0; r < options.rounds; r++) {
      const round = { round: r + 1, order: [], runs: {} };
      for (const job of rotate(jobs, r)) {
        const run = await runJob(job, options, sink);
        round.order.push(job.id);
        round.runs[job.id] = run;
        if (!run.ok) failures.push({ round: r + 1, id: job.id, error: run.error });
        process.stderr.write(`[round ${r + 1}/${options.rounds}] ${describe(job, run)}\n`);
      }
      rounds.push(round);
    }
  } finally {
    if (sink) await sink.stop();
  }

  const usedVariants = Object.fromEntries(jobs.filter((j) => j.kind === 'variant').map((j) => [j.id, j.variant]));
  const usedContention = Object.fromEntries(jobs.filter((j) => j.kind === 'contention').map((j) => [j.id, j.config]));
  const report = buildReport({
    variants: usedVariants,
    contention: usedContention,
    rounds,
    failures,
    options,
    startedAt: startedAt.toISOString(),
    machineInfo,
  });
  process.stdout.write(`${report.markdown}\n`);

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/:/g, '-')}.json`);
  const raw = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    machine: report.machine,
    definitions: {
      variants: Object.fromEntries(Object.entries(usedVariants).map(([id, v]) => [id, { title: v.title, unit: v.unit, ops: v.ops, warmup: v.warmup, warmupPasses: WARMUP_PASSES }])),
      contention: usedContention,
    },
    rounds,
    failures,
    summary: report.summary,
  };
  fs.writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`);
  process.stderr.write(`raw results: ${path.relative(process.cwd(), file)}\n`);

  if (failures.length) {
    process.stderr.write(`${failures.length} correctness failure(s); see the table above\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 1;
});
