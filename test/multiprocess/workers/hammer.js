// node hammer.js REGION ID WORKERS MODE OPS: one process of a multi-process correctness test.
const { Metrics } = require('../../../dist');
const { waitForGo } = require('./barrier');

const [path, idText, workersText, mode, opsText] = process.argv.slice(2);
const id = Number(idText);
const workers = Number(workersText);
const ops = Number(opsText);
const metrics = Metrics.open({ path, create: false });

const modes = {
  inc() {
    const shared = metrics.counter('shared');
    const own = metrics.counter(`own.${id}`);
    const big = metrics.counter('shared.big');
    for (let i = 0; i < ops; i++) {
      shared.inc();
      metrics.inc(`own.${id}`);
      own.inc(3);
      if ((i & 15) === 0) big.inc(1n);
    }
  },
  dec() {
    const down = metrics.counter('down');
    for (let i = 0; i < ops; i++) {
      down.dec();
      metrics.dec(`own.${id}`, 2);
    }
  },
  setmax() {
    const max = metrics.gauge('max');
    const min = metrics.gauge('min');
    for (let k = 0; k < ops; k++) {
      max.setMax(k * workers + id);
      min.setMin(-(k * workers + id));
    }
  },
  mixed() {
    const shared = metrics.counter('shared');
    const inflight = metrics.gauge('inflight');
    const pow = metrics.gauge('pow');
    for (let i = 0; i < ops; i++) {
      inflight.inc();
      shared.inc();
      if ((i & 7) === 0) {
        pow.mul(2);
        pow.div(2);
      }
      metrics.set(`last.${id}`, i);
      inflight.dec();
    }
  },
};

waitForGo(metrics);
modes[mode]();
process.stdout.write(JSON.stringify({ id, lane: metrics.info().lane, access: metrics.valueAccess }) + '\n');
