'use strict';
// Runs one variant in a fresh `node` process (bench/child.js) and turns its output into a run record:
// time per operation, and bytes allocated per operation: on the V8 heap during the timed pass (from
// --trace-gc-nvp) plus ArrayBuffer backing stores (from the child's probe pass).

const { spawn } = require('node:child_process');
const path = require('node:path');
const { MARK_START, MARK_END, RESULT } = require('./child');
const { removeRegionsOf } = require('./regions');

const CHILD = path.join(__dirname, 'child.js');

// A run that takes longer than this is stuck (a lost sink, a wedged lock): kill it and fail.
const CHILD_TIMEOUT_MS = 120_000;

// Allocation below this is noise (the timer's BigInts, a compiled code object, the GC's own
// bookkeeping): report 0 bytes/op under either bound.
const NOISE_TOTAL_BYTES = 256 * 1024;
const NOISE_BYTES_PER_OP = 0.5;

/**
 * Sums V8's `allocated=` (bytes allocated since the previous GC) over every GC between the two
 * markers. The full GC forced after the timed pass closes the window, so its figure counts too.
 */
function allocationBetweenMarkers(stdout) {
  let inside = false;
  let bytes = 0;
  let scavenges = 0;
  let fullGcs = 0;
  for (const line of stdout.split('\n')) {
    if (line === MARK_START) inside = true;
    else if (line === MARK_END) break;
    else if (inside && line.includes(' gc=')) {
      const allocated = /\ballocated=(\d+)/.exec(line);
      if (allocated) bytes += Number(allocated[1]);
      const kind = /\bgc=(\w+)/.exec(line);
      if (kind && kind[1] === 's') scavenges++;
      else if (kind) fullGcs++;
    }
  }
  return { bytes, scavenges, fullGcs: Math.max(0, fullGcs - 1) };
}

function runVariant(id, { ops, warmup, env = {} }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--trace-gc-nvp', CHILD, id, String(ops), String(warmup)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const leftovers = removeRegionsOf([child.pid]);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT));
      const result = line ? JSON.parse(line.slice(RESULT.length)) : undefined;
      if (!result || code !== 0) {
        const why = result && !result.check.ok ? result.check.detail : `exit ${signal || code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
        resolve({ id, ok: false, error: why, leftovers });
        return;
      }
      const alloc = allocationBetweenMarkers(stdout);
      const rawHeapBytesPerOp = alloc.bytes / result.ops;
      const heapBytesPerOp = alloc.bytes < NOISE_TOTAL_BYTES || rawHeapBytesPerOp < NOISE_BYTES_PER_OP ? 0 : rawHeapBytesPerOp;
      const offHeapBytesPerOp = result.offHeapBytes / result.probeOps;
      resolve({
        id,
        ok: true,
        ops: result.ops,
        warmup: result.warmup,
        warmupPasses: result.warmupPasses,
        elapsedNs: result.elapsedNs,
        nsPerOp: result.elapsedNs / result.ops,
        allocatedBytes: alloc.bytes,
        heapBytesPerOp,
        offHeapBytesPerOp,
        bytesPerOp: heapBytesPerOp + offHeapBytesPerOp,
        probeOps: result.probeOps,
        totalOps: result.totalOps,
        scavenges: alloc.scavenges,
        check: result.check.detail,
        leftovers,
      });
    });
  });
}

module.exports = { runVariant, allocationBetweenMarkers };
