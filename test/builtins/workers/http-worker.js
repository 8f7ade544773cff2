// node http-worker.js REGION WORKER: one separately started worker process. It attaches to the region,
// reports its figures and serves an instrumented HTTP server on 127.0.0.1; it prints {"port":N} once
// listening and "hang <n>" each time it starts holding a /hang request. Routes:
//   /ok?size=N  200 with N bytes      /fail  500      /hang  never answers (the client aborts it)
const http = require('node:http');
const { Metrics } = require('../../../dist');
const { instrument, startWorkerReporter } = require('../../../dist/builtins');

const [path, workerText] = process.argv.slice(2);
const worker = Number(workerText);
const metrics = Metrics.open({ path, create: false });
startWorkerReporter(metrics, worker, { intervalMs: 250 });

let hanging = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://worker');
  if (url.pathname === '/ok') {
    res.setHeader('content-type', 'text/plain');
    res.end('w'.repeat(Number(url.searchParams.get('size') ?? 100)));
  } else if (url.pathname === '/fail') {
    res.statusCode = 500;
    res.end('internal error\n');
  } else if (url.pathname === '/hang') {
    process.stdout.write(`hang ${++hanging}\n`);
  } else {
    res.statusCode = 404;
    res.end();
  }
});
instrument(server, { metrics, worker, intervalMs: 250 });
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
