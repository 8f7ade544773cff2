/**
 * A demo worker, run by the master that `npm start` starts: an instrumented HTTP server on a free port
 * of 127.0.0.1 that loads itself with a few requests a second (1 in 20 fails with a 500), so that the
 * built-in worker.N.* metrics move. It publishes its port as the gauge demo.worker.N.port.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { instrument, metrics } from '../index';

const worker = Number(process.env.SHMETRICS_WORKER_ID);
if (!Number.isInteger(worker) || worker < 1) throw new Error('SHMETRICS_WORKER_ID is not set: the demo master starts this file');

const LOAD_INTERVAL_MS = 50;

const server = http.createServer((req, res) => {
  if (req.url === '/fail') {
    res.statusCode = 500;
    res.end('failed on purpose\n');
    return;
  }
  res.end(`hello from worker ${worker}\n`);
});
instrument(server, { metrics, worker });

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  metrics.gauge(`demo.worker.${worker}.port`).set(port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  setInterval(() => {
    const path = Math.random() < 0.05 ? '/fail' : '/';
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => res.resume()).on('error', () => {});
  }, LOAD_INTERVAL_MS);
});

process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
