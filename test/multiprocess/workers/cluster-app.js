// node cluster-app.js WORKERS INCS: the README's cluster example. The primary touches the ready-made
// `metrics` before forking; each worker increments the shared counter; the primary prints the total.
const cluster = require('node:cluster');
const { metrics } = require('../../../dist');

const [workersText, incsText] = process.argv.slice(2);
const workers = Number(workersText);
const incs = Number(incsText);

if (cluster.isPrimary) {
  metrics.counter('requests');
  let exited = 0;
  for (let i = 0; i < workers; i++) cluster.fork({ SHMETRICS_WORKER_ID: String(i + 1) });
  cluster.on('exit', (worker, code) => {
    if (code !== 0) process.exit(1);
    if (++exited === workers)
      process.stdout.write(JSON.stringify({ requests: metrics.get('requests'), region: metrics.path }) + '\n');
  });
} else {
  const id = process.env.SHMETRICS_WORKER_ID;
  for (let i = 0; i < incs; i++) {
    metrics.inc('requests');
    metrics.inc(`worker.${id}.requests`);
  }
  process.exit(0);
}
