// node idle-reporter.js REGION WORKER: starts a reporter and instruments a server that never listens, then
// returns without stopping either. The process must exit on its own: nothing of theirs holds it.
const http = require('node:http');
const { Metrics } = require('../../../dist');
const { instrument, startWorkerReporter } = require('../../../dist/builtins');

const [path, workerText] = process.argv.slice(2);
const worker = Number(workerText);
const metrics = Metrics.open({ path, create: false });
startWorkerReporter(metrics, worker, { intervalMs: 20 });
instrument(http.createServer(), { metrics, worker, intervalMs: 20 });
process.stdout.write('started\n');
