'use strict';
// A StatsD UDP sink in its own process: binds 127.0.0.1 on a free port, counts datagrams, bytes and
// metric lines, and discards them. The runner starts it once (startSink) and asks it for its totals
// over IPC, so hot-shots sends to a real receiver on another core, as in production.

const dgram = require('node:dgram');
const { fork } = require('node:child_process');

// A large receive buffer so the sink drops as little as it can; the kernel caps it at rmem_max.
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;

function serve() {
  const totals = { datagrams: 0, bytes: 0, lines: 0 };
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg) => {
    totals.datagrams++;
    totals.bytes += msg.length;
    let lines = 1;
    for (let i = 0; i < msg.length; i++) if (msg[i] === 10) lines++;
    totals.lines += lines;
  });
  socket.bind(0, '127.0.0.1', () => {
    try {
      socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    } catch {
      // keep the default buffer
    }
    process.send({ port: socket.address().port });
  });
  process.on('message', (msg) => {
    if (msg === 'totals') process.send({ totals });
    else if (msg === 'stop') socket.close(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
}

/** Starts the sink process; resolves to { port, totals(), settled(), stop() }. */
function startSink() {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const waiting = [];
    child.on('message', (msg) => {
      if (msg.totals) waiting.shift()(msg.totals);
      else if (msg.port) resolve({ port: msg.port, totals, settled, stop, pid: child.pid });
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`UDP sink exited with ${code}`));
    });

    function totals() {
      return new Promise((done) => {
        waiting.push(done);
        child.send('totals');
      });
    }

    /** Totals once nothing more has arrived for `quietMs` (the sender has exited; datagrams drain). */
    async function settled(quietMs = 100) {
      let last = await totals();
      for (;;) {
        await new Promise((r) => setTimeout(r, quietMs));
        const now = await totals();
        if (now.datagrams === last.datagrams) return now;
        last = now;
      }
    }

    function stop() {
      return new Promise((done) => {
        child.once('exit', () => done());
        child.send('stop');
      });
    }
  });
}

if (require.main === module && process.argv[2] === 'serve') serve();

module.exports = { startSink };
