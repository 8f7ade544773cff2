// A worker app for the master tests: an instrumented HTTP server on a free port, announced on stdout as
// "listening <worker> <port> <pid>"; every request also counts app.hits. Stops on SIGTERM, saying so.
const http = require('node:http');
const { instrument, metrics } = require('../../../dist');

const worker = Number(process.env.SHMETRICS_WORKER_ID);
const server = http.createServer((req, res) => {
  metrics.inc('app.hits');
  res.end(`worker ${worker}\n`);
});
instrument(server, { metrics, worker });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${worker} ${server.address().port} ${process.pid}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`stopping ${worker} ${process.pid}\n`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
