'use strict';
// Turns the per-round run records into the printed markdown tables and the summary kept in the JSON:
// median/min/max over rounds, and ratios computed within each round (variants of one round ran
// minutes apart at most, so a same-round ratio cancels most of the machine's drift).

const os = require('node:os');

const UNIT_DIVISOR = { ns: 1, us: 1e3, ms: 1e6 };
const UNIT_LABEL = { ns: 'ns/op', us: 'µs/op', ms: 'ms/op' };

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function stats(xs) {
  if (xs.length === 0) return undefined;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Three significant digits, thousands separated: 1.23, 12.3, 123, 1,234. */
function fmt(x) {
  if (x === undefined || Number.isNaN(x)) return 'n/a';
  const a = Math.abs(x);
  const digits = a === 0 ? 0 : a < 1 ? 3 : a < 10 ? 2 : a < 100 ? 1 : 0;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtBytes(x) {
  if (x === undefined) return 'n/a';
  if (x === 0) return '0';
  return x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus.length ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    loadavg: os.loadavg(),
  };
}

/** Per-variant value in the variant's display unit for each round where it succeeded. */
function seriesOf(rounds, id, pick) {
  return rounds.map((r) => r.runs[id]).filter((run) => run && run.ok).map(pick);
}

/** Same-round ratio num/den (display units cancel: both are ns/op), for rounds where both succeeded. */
function roundRatios(rounds, num, den) {
  const out = [];
  for (const r of rounds) {
    const a = r.runs[num];
    const b = r.runs[den];
    if (a && a.ok && b && b.ok) out.push(valueOf(a) / valueOf(b));
  }
  return out;
}

function valueOf(run) {
  return run.mopsPerSec !== undefined ? run.mopsPerSec : run.nsPerOp;
}

// The targets of the suite. `value` returns the per-round numbers the target is judged on (the median).
const TARGETS = [
  {
    label: 'handle `c.inc()` ÷ prom-client `Counter.inc()`',
    target: '≤ 1.5',
    pass: (x) => x <= 1.5,
    value: (rounds) => roundRatios(rounds, 'shm-handle-inc', 'prom-inc'),
  },
  {
    label: 'handle `c.inc()` bytes/op',
    target: '= 0',
    pass: (x) => x === 0,
    value: (rounds) => seriesOf(rounds, 'shm-handle-inc', (r) => r.bytesPerOp),
  },
  {
    label: 'prom-client labelled `inc({route})` ÷ shmetrics by-name `m.inc(name)`',
    target: '≥ 4',
    pass: (x) => x >= 4,
    value: (rounds) => roundRatios(rounds, 'prom-labelled-inc', 'shm-name-inc'),
  },
  {
    label: 'hot-shots `increment` ÷ handle `c.inc()`',
    target: '≥ 100',
    pass: (x) => x >= 100,
    value: (rounds) => roundRatios(rounds, 'hotshots-inc', 'shm-handle-inc'),
  },
  {
    label: '`m.snapshot()` of 10,000 counters, ms',
    target: '≤ 1',
    pass: (x) => x <= 1,
    value: (rounds) => seriesOf(rounds, 'shm-snapshot-10k', (r) => r.nsPerOp / 1e6),
  },
  {
    label: 'metrics-dir flush of 1,000 changed metrics on tmpfs, ms',
    target: '≤ 2',
    pass: (x) => x <= 2,
    value: (rounds) => seriesOf(rounds, 'shm-metrics-dir-1000', (r) => r.nsPerOp / 1e6),
  },
  {
    label: 'prom-client `Histogram.observe` ÷ shmetrics `h.observe`',
    target: '≥ 1',
    pass: (x) => x >= 1,
    value: (rounds) => roundRatios(rounds, 'prom-histogram-observe', 'shm-histogram-observe'),
  },
  // Context for the design, no target.
  { label: 'prom-client `Gauge.set` ÷ shmetrics `g.set`', value: (rounds) => roundRatios(rounds, 'prom-gauge-set', 'shm-gauge-set') },
  { label: 'no-lane `c.inc()` (Atomics.add) ÷ handle `c.inc()` (lane)', value: (rounds) => roundRatios(rounds, 'shm-inc-nolane', 'shm-handle-inc') },
  { label: 'native `c.inc()` (N-API) ÷ handle `c.inc()` (lane)', value: (rounds) => roundRatios(rounds, 'shm-inc-native', 'shm-handle-inc') },
  { label: 'throughput: 2 processes same counter ÷ 1 process', value: (rounds) => roundRatios(rounds, 'contend-2p-same', 'contend-1p') },
  { label: 'throughput: 2 processes separate counters ÷ 1 process', value: (rounds) => roundRatios(rounds, 'contend-2p-separate', 'contend-1p') },
  { label: 'throughput: 2 processes same counter, lanes ÷ no lanes', value: (rounds) => roundRatios(rounds, 'contend-2p-same', 'contend-2p-same-nolane') },
];

/**
 * Builds the summary and the markdown. variants/contention: id -> definition (title, unit, ...);
 * rounds: [{ runs: { id: record } }]; failures: [{ round, id, error }].
 */
function buildReport({ variants, contention, rounds, failures, options, startedAt, machineInfo = machine() }) {
  const failedIds = new Set(failures.map((f) => f.id));
  const summary = { variants: {}, contention: {}, targets: [] };

  const variantRows = [];
  for (const [id, v] of Object.entries(variants)) {
    const div = UNIT_DIVISOR[v.unit];
    const time = stats(seriesOf(rounds, id, (r) => r.nsPerOp / div));
    const bytes = stats(seriesOf(rounds, id, (r) => r.bytesPerOp));
    summary.variants[id] = { title: v.title, unit: UNIT_LABEL[v.unit], time, bytesPerOp: bytes };
    if (failedIds.has(id)) {
      variantRows.push([v.title, UNIT_LABEL[v.unit], 'FAILED', '', '', '']);
      continue;
    }
    if (!time) continue;
    const offHeap = median(seriesOf(rounds, id, (r) => r.offHeapBytesPerOp));
    const bytesCell = offHeap > 0 ? `${fmtBytes(bytes.median)} (${fmtBytes(offHeap)} off-heap)` : fmtBytes(bytes.median);
    variantRows.push([v.title, UNIT_LABEL[v.unit], `**${fmt(time.median)}**`, fmt(time.min), fmt(time.max), bytesCell]);
  }

  const contentionRows = [];
  for (const [id, c] of Object.entries(contention)) {
    const mops = stats(seriesOf(rounds, id, (r) => r.mopsPerSec));
    const perWorker = stats(seriesOf(rounds, id, (r) => median(r.workerNsPerOp)));
    summary.contention[id] = { title: c.title, mopsPerSec: mops, workerNsPerOp: perWorker, opsPerWorker: c.ops };
    if (failedIds.has(id)) {
      contentionRows.push([c.title, 'FAILED', '', '', '', 'NO']);
      continue;
    }
    if (!mops) continue;
    const exact = `${mops.n}/${mops.n} runs`;
    contentionRows.push([c.title, `**${fmt(mops.median)}**`, fmt(mops.min), fmt(mops.max), fmt(perWorker.median), exact]);
  }

  const targetRows = [];
  for (const t of TARGETS) {
    const s = stats(t.value(rounds));
    const verdict = !t.target ? '' : !s ? 'n/a' : t.pass(s.median) ? 'PASS' : '**FAIL**';
    summary.targets.push({ label: t.label, target: t.target, ...s, result: verdict || undefined });
    if (!s) {
      targetRows.push([t.label, 'n/a', '', '', t.target || '', verdict]);
      continue;
    }
    const f = t.label.endsWith('bytes/op') ? fmtBytes : fmt;
    targetRows.push([t.label, `**${f(s.median)}**`, f(s.min), f(s.max), t.target || '', verdict]);
  }

  const hotshots = rounds.map((r) => r.runs['hotshots-inc']).filter((r) => r && r.ok && r.delivery);
  const delivered = hotshots.length ? stats(hotshots.map((r) => r.delivery.fraction * 100)) : undefined;

  const m = machineInfo;
  const parts = [
    `Machine: node ${m.node} (V8 ${m.v8}), ${m.cpu}, ${m.cores} cores, ${m.platform}; load average at start ${m.loadavg.map((x) => x.toFixed(2)).join(' ')}`,
    `Run: ${startedAt}, ${options.rounds} round(s)${options.quick ? ' (--quick: fewer ops)' : ''}, each variant in a fresh process, order rotated per round.`,
    '',
    '### Cost per operation (median / min / max over rounds)',
    '',
    table(['variant', 'unit', 'median', 'min', 'max', 'bytes/op'], variantRows),
  ];
  if (delivered)
    parts.push(
      '',
      `hot-shots: the UDP sink (separate process) received ${fmt(delivered.median)} % of the \`x:1|c\` lines sent (min ${fmt(delivered.min)} %).`,
    );
  parts.push(
    '',
    '### Processes incrementing one region at once (total Mops/s; final counts checked exactly)',
    '',
    table(['run', 'median Mops/s', 'min', 'max', 'ns/op per worker', 'exact'], contentionRows),
    '',
    '### Same-round ratios and targets (PASS/FAIL on the median)',
    '',
    table(['ratio', 'median', 'min', 'max', 'target', 'result'], targetRows),
  );
  if (failures.length) {
    parts.push('', '### Correctness failures (no number reported for these runs)', '');
    for (const f of failures) parts.push(`* round ${f.round}, ${f.id}: ${f.error}`);
  }
  return { markdown: parts.join('\n'), summary, machine: m };
}

module.exports = { buildReport, machine, stats, median };
