'use strict';
// Runs one variant in this (fresh) process: setup, a priming pass and warm-up passes, one timed pass,
// correctness check over every operation made.
//
//   node --expose-gc --trace-gc-nvp bench/child.js <variant> <ops> <warmup>
//
// Prints GC_START / GC_END markers around the timed pass (with a full GC on each side), so the runner
// can sum V8's `allocated=` figures between them; then runs a short probe pass for off-heap
// (ArrayBuffer) allocation; then prints one `RESULT <json>` line. Exits 3 when the check fails: the
// runner must then not report a number for this run.

const fs = require('node:fs');
const { variants, WARMUP_PASSES } = require('./variants');

const MARK_START = 'BENCH_GC_START';
const MARK_END = 'BENCH_GC_END';
const RESULT = 'BENCH_RESULT ';

// Operations in the off-heap allocation probe: few enough that the probe itself triggers no GC.
const PROBE_OPS = 10;

// Synchronous writes to fd 1, so the markers interleave correctly with V8's own GC trace lines.
const emit = (line) => fs.writeSync(1, `${line}\n`);

async function main() {
  const [id, opsArg, warmupArg] = process.argv.slice(2);
  const variant = variants[id];
  if (!variant) throw new Error(`unknown variant "${id}"`);
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const ops = Number(opsArg);
  const warmup = Number(warmupArg);

  const state = await variant.setup();
  try {
    const step = variant.opsStep ?? 1;
    let totalOps = 0;
    const untimed = async (n) => {
      const pending = variant.loop(state, n);
      if (pending) await pending;
      totalOps += n;
    };

    // One minimal pass first, so every bytecode of the loop function (the code after its loop too)
    // has type feedback before V8 compiles it on-stack; otherwise the first optimized versions
    // deoptimize on "insufficient type feedback", and a function that deoptimizes too often may stay
    // unoptimized for the timed pass.
    await untimed(step);
    for (let pass = 0; pass < WARMUP_PASSES; pass++) await untimed(warmup);

    global.gc();
    emit(MARK_START);
    const t0 = process.hrtime.bigint();
    const pending = variant.loop(state, ops);
    if (pending) await pending;
    const t1 = process.hrtime.bigint();
    global.gc();
    emit(MARK_END);
    totalOps += ops;

    // ArrayBuffer backing stores live outside the V8 heap, so the GC trace does not see them: count
    // them over a short extra pass with no GC in it (the allocator's running total only grows).
    const probeOps = Math.max(PROBE_OPS, step);
    global.gc();
    const ab0 = process.memoryUsage().arrayBuffers;
    await untimed(probeOps);
    const offHeapBytes = Math.max(0, process.memoryUsage().arrayBuffers - ab0);

    const check = await variant.check(state, totalOps);
    emit(
      RESULT +
        JSON.stringify({ id, ops, warmup, warmupPasses: WARMUP_PASSES, totalOps, elapsedNs: Number(t1 - t0), probeOps, offHeapBytes, check }),
    );
    if (!check.ok) process.exitCode = 3;
  } finally {
    if (variant.teardown) await variant.teardown(state);
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 2;
  });
}

module.exports = { MARK_START, MARK_END, RESULT };
