// One worker of the chaos soak (test/soak/soak.ts), run by the master under test. Every few milliseconds
// it does a batch of operations on the master's region: increments the shared counters and its own,
// sets its gauge, observes the histogram, increments the counter it defined last, and every SOAK_DYN_MS
// defines a new counter (soak.dyn.<worker>.<seq>, oid 102.<worker>.<seq>) while the tally region's gauge
// control.define is 1 (once it is 0, a new incarnation takes up its worker's last one instead).
//
// Its tally lives in another region (SOAK_TALLY), under a name of its own incarnation (i<pid>x<start>):
// after each increment of a counter it sets the gauge <incarnation>.c.<counter> to the total it has
// completed on that counter. A SIGKILL can therefore leave at most one increment done and not tallied,
// and never a tallied one not done: Σ tallies <= region value <= Σ tallies + in-flight. An exit through
// JavaScript (SIGTERM, the master gone) runs between two operations and marks <incarnation>.exit = 1:
// such an incarnation has nothing in flight.
//
// While the tally region's gauge control.pause is 1 it does nothing and says so in <incarnation>.paused.
const { Metrics, metrics } = require('../../../dist');

const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const worker = Number(process.env.SHMETRICS_WORKER_ID);
const SHARED = env('SOAK_SHARED', 4);
const BATCH = env('SOAK_BATCH', 5000);
const INTERVAL_MS = env('SOAK_INTERVAL_MS', 10);
const DYN_MS = env('SOAK_DYN_MS', 2000);
/** Every HIST_EVERY-th operation observes the histogram. */
const HIST_EVERY = 4;

const tally = Metrics.open({ path: process.env.SOAK_TALLY, create: false });
const incarnation = `i${process.pid}x${Date.now().toString(36)}`;
const own = (key) => tally.gauge(`${incarnation}.${key}`);
own('worker').set(worker);
own('pid').set(process.pid);
const exitFlag = own('exit');
const pausedFlag = own('paused');
const opsTally = own('ops');
const pause = tally.gauge('control.pause');
const defining = tally.gauge('control.define');
const dynSeq = tally.gauge(`w${worker}.dynseq`);

/** A counter of the region under test and its tally: `bump(d)` increments, then records the total. */
function tallied(handle, name) {
  const record = own(`c.${name}`);
  let total = 0;
  return (d) => {
    handle.inc(d);
    total += d;
    record.set(total);
  };
}

const shared = [];
for (let s = 0; s < SHARED; s++) shared.push(tallied(metrics.metric(`soak.shared.${s}`), `soak.shared.${s}`));
const ownOps = tallied(metrics.metric(`soak.worker.${worker}.ops`), `soak.worker.${worker}.ops`);
const gauge = metrics.metric(`soak.gauge.${worker}`);
const histogram = metrics.histogram('soak.latency');
const histogramCount = own('c.soak.latency');
let observed = 0;
let dyn;
let dynAt = 0;

function defineNext() {
  const seq = defining.get() === 1 || dynSeq.get() === 0 ? dynSeq.get() + 1 : dynSeq.get();
  const name = `soak.dyn.${worker}.${seq}`;
  dyn = tallied(metrics.define(`name=${name},type=counter,oid=102.${worker}.${seq}`), name);
  dynSeq.setMax(seq);
  dynAt = Date.now();
}

let i = 0;
function batch() {
  if (pause.get() === 1) {
    pausedFlag.set(1);
    setTimeout(batch, 50);
    return;
  }
  pausedFlag.set(0);
  if (dyn === undefined || (Date.now() - dynAt >= DYN_MS && defining.get() === 1)) defineNext();
  for (let k = 0; k < BATCH; k++, i++) {
    shared[i % SHARED](1 + (i % 3));
    ownOps(1);
    gauge.set(i);
    if (i % HIST_EVERY === 0) {
      histogram.observe(1 + ((i * 7919) % 100_000));
      histogramCount.set(++observed);
    }
    dyn(1);
    opsTally.set(i + 1);
  }
  setTimeout(batch, INTERVAL_MS);
}

process.on('exit', () => exitFlag.set(1));
process.on('SIGTERM', () => process.exit(0));
batch();
