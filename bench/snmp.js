'use strict';
// The SNMP agent's benchmark (standalone; needs dist/: `npm run build:ts`, and Debian's `snmp` tools):
//
//   node bench/snmp.js [--metrics N] [--seconds S] [--reps R] [--walk-sizes 1000,10000] [--no-baseline] [--quick]
//
// 1. GETs per second answered, one single-varbind v2c GET at a time (sequential) and with 32 outstanding
//    (pipelined), from a raw-dgram client (the npm client itself tops out near 60 k/s on one core).
// 2. Wall time of `snmpwalk` (GETNEXT) and `snmpbulkwalk` (GETBULK, -Cr10 and -Cr50) over every metric.
//
// Each agent runs in its own process, so that the client does not share its event loop. Each figure is
// measured against the shmetrics agent and, in the same run, against the agent users would write
// instead: net-snmp's Agent with one Counter64 scalar provider per metric (--no-baseline skips it).
// Progress goes to stderr, a markdown report to stdout.

const { execFile, fork } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BASE = '1.3.6.1.4.1.35156.17';

function parseArgs(argv) {
  const options = { metrics: 1000, seconds: 5, reps: 3, walkSizes: [1000, 10000], baseline: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const number = () => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) usage(`${arg} needs a positive integer, got ${argv[i]}`);
      return value;
    };
    if (arg === '--metrics') options.metrics = number();
    else if (arg === '--seconds') options.seconds = number();
    else if (arg === '--reps') options.reps = number();
    else if (arg === '--walk-sizes') options.walkSizes = (argv[++i] || '').split(',').map(Number);
    else if (arg === '--no-baseline') options.baseline = false;
    else if (arg === '--quick') Object.assign(options, { seconds: 1, reps: 1, walkSizes: [1000] });
    else usage(`unknown argument ${arg}`);
  }
  return options;
}

function usage(message) {
  process.stderr.write(`${message}\nusage: node bench/snmp.js [--metrics N] [--seconds S] [--reps R] [--walk-sizes 1000,10000] [--no-baseline] [--quick]\n`);
  process.exit(2);
}

// ---- the agents (child processes) ----------------------------------------------------------------

/** Child: opens a region of `count` counters at oid 200.i (i = 1..count) and serves it. */
async function serve(kind, count) {
  const { Metrics } = require('../dist');
  const regionPath = `/dev/shm/shmetrics-bench-snmp-${process.pid}`;
  const metrics = Metrics.open({ path: regionPath, capacity: count + 16, valueCapacity: count + 64 });
  const handles = [];
  for (let i = 1; i <= count; i++) handles.push(metrics.define(`name=bench.metric.${i},oid=200.${i}`));
  handles.forEach((handle, i) => handle.inc(i + 1));
  const cleanup = () => {
    metrics.close();
    fs.rmSync(regionPath, { force: true });
  };
  process.on('disconnect', () => {
    cleanup();
    process.exit(0);
  });

  if (kind === 'shmetrics') {
    const { startSnmpAgent } = require('../dist/snmp');
    const agent = await startSnmpAgent(metrics, { address: '127.0.0.1:0', community: 'public', log: () => {} });
    process.send({ port: agent.port, getOid: `${BASE}.200.${Math.ceil(count / 2)}` });
    return;
  }

  // net-snmp's documented dynamic scalar: a handler that reads the value at request time (served at .0).
  const snmp = require('net-snmp');
  const agent = snmp.createAgent({ port: 0, address: '127.0.0.1', transport: 'udp4' }, () => {});
  agent.getAuthorizer().addCommunity('public');
  const mib = agent.getMib();
  handles.forEach((handle, i) => {
    const name = `m${i + 1}`;
    mib.registerProvider({
      name,
      type: snmp.MibProviderType.Scalar,
      oid: `${BASE}.200.${i + 1}`,
      scalarType: snmp.ObjectType.Counter64,
      maxAccess: snmp.MaxAccess['read-only'],
      handler: (request) => {
        const value = Buffer.alloc(8);
        value.writeBigUInt64BE(BigInt.asUintN(64, handle.getBigInt()));
        request.instanceNode.value = value;
        request.done();
      },
    });
    mib.setScalarValue(name, Buffer.alloc(8));
  });
  // net-snmp's Agent binds asynchronously and does not expose the port: poll its socket.
  const socket = agent.listener.sockets[Object.keys(agent.listener.sockets)[0]];
  const port = await new Promise((resolve) => {
    const check = () => {
      try {
        resolve(socket.address().port);
      } catch {
        setTimeout(check, 5);
      }
    };
    check();
  });
  process.send({ port, getOid: `${BASE}.200.${Math.ceil(count / 2)}.0` });
}

function startAgent(kind, count) {
  const child = fork(__filename, ['--serve', kind, String(count)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ ...message, child, pid: child.pid }));
    child.once('exit', (code) => reject(new Error(`${kind} agent exited with ${code}`)));
  });
}

function stopAgent(agent) {
  return new Promise((resolve) => {
    agent.child.once('exit', resolve);
    agent.child.disconnect();
  });
}

/** utime + stime of a process, in seconds (from /proc; 10 ms resolution). */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

// ---- the GET client ----------------------------------------------------------------------------

function berLength(n) {
  return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
}
function tlv(tag, content) {
  return Buffer.concat([Buffer.from([tag, ...berLength(content.length)]), content]);
}
function oidBytes(oid) {
  const arcs = oid.split('.').map(Number);
  const bytes = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift(0x80 | (rest & 0x7f));
    bytes.push(...groups);
  }
  return Buffer.from(bytes);
}

/** A v2c GetRequest whose 4-byte request-id sits at the returned offset, to be patched per send. */
function getRequest(oid) {
  const requestId = tlv(0x02, Buffer.from([0x01, 0x00, 0x00, 0x00])); // >= 0x01000000: always 4 bytes
  const pdu = tlv(
    0xa0,
    Buffer.concat([requestId, tlv(0x02, Buffer.from([0])), tlv(0x02, Buffer.from([0])), tlv(0x30, tlv(0x30, Buffer.concat([tlv(0x06, oidBytes(oid)), Buffer.from([0x05, 0x00])])))]),
  );
  const message = tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([1])), tlv(0x04, Buffer.from('public')), pdu]));
  return { packet: message, idOffset: message.indexOf(requestId) + 2 };
}

/** Reads request-id, error-status and the first value's tag of an answer; undefined if it is not one. */
function parseAnswer(packet) {
  let at = 0;
  const header = () => {
    const tag = packet[at++];
    let length = packet[at++];
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + packet[at++];
    }
    return { tag, length };
  };
  const skip = () => {
    const { length } = header();
    at += length;
  };
  header(); // message
  skip(); // version
  skip(); // community
  header(); // PDU
  const id = header();
  const requestId = packet.readUInt32BE(at + id.length - 4);
  at += id.length;
  const status = header();
  const errorStatus = packet[at];
  at += status.length;
  skip(); // error-index
  header(); // varbind list
  header(); // varbind
  skip(); // name
  return { requestId, errorStatus, valueTag: packet[at] };
}

/** GETs answered per second with `depth` requests outstanding, for `seconds` after a 0.5 s warm-up. */
async function measureGets(agent, depth, seconds) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.connect(agent.port, '127.0.0.1', resolve));
  const { packet, idOffset } = getRequest(agent.getOid);
  const slots = Array.from({ length: depth }, () => Buffer.from(packet));
  const sentAt = new Float64Array(depth);
  let nextId = 0;
  let counting = false;
  let answered = 0;
  let bad = 0;
  let lost = 0;
  const send = (slot) => {
    // The slot rides in the low 6 bits of the request-id; the rest makes every request-id different.
    slots[slot].writeUInt32BE(0x01000000 + ((nextId++ & 0xfffff) << 6) + slot, idOffset);
    sentAt[slot] = performance.now();
    socket.send(slots[slot]);
  };
  socket.on('message', (message) => {
    const answer = parseAnswer(message);
    const slot = answer.requestId & 0x3f;
    if (slot >= depth) return;
    if (counting) {
      if (answer.errorStatus === 0 && answer.valueTag === 0x46) answered++;
      else bad++;
    }
    send(slot);
  });
  for (let slot = 0; slot < depth; slot++) send(slot);
  const resend = setInterval(() => {
    const now = performance.now();
    for (let slot = 0; slot < depth; slot++)
      if (now - sentAt[slot] > 1000) {
        if (counting) lost++;
        send(slot);
      }
  }, 100);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const cpuBefore = cpuSeconds(agent.pid);
  counting = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(agent.pid) - cpuBefore;
  clearInterval(resend);
  socket.close();
  return { perSecond: answered / elapsed, cpuPercent: (100 * cpu) / elapsed, cpuMicrosPerGet: answered ? (cpu * 1e6) / answered : NaN, bad, lost };
}

// ---- the walks -------------------------------------------------------------------------------------

function run(tool, args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    execFile(tool, args, { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, MIBS: '' } }, (error, stdout) => {
      if (error) reject(error);
      else resolve({ ms: performance.now() - started, lines: stdout.split('\n').filter((line) => line.startsWith('.')).length });
    });
  });
}

/** The metrics' own OIDs (…17.200.i, what both agents serve); for shmetrics also all of …17, table included. */
async function measureWalks(agent, count, kind) {
  const target = ['-v2c', '-c', 'public', '-On', '-m', '', `127.0.0.1:${agent.port}`];
  const walks = [
    ['snmpwalk (GETNEXT)', 'snmpwalk', [], `${BASE}.200`, count],
    ['snmpbulkwalk -Cr10 (GETBULK)', 'snmpbulkwalk', [], `${BASE}.200`, count],
    ['snmpbulkwalk -Cr50', 'snmpbulkwalk', ['-Cr50'], `${BASE}.200`, count],
  ];
  if (kind === 'shmetrics')
    walks.push(
      ['snmpwalk of all …35156.17 (the table too: 4 OIDs a metric)', 'snmpwalk', [], BASE, 4 * count],
      ['snmpbulkwalk -Cr50 of all …35156.17', 'snmpbulkwalk', ['-Cr50'], BASE, 4 * count],
    );
  const results = {};
  for (const [label, tool, extra, subtree, expected] of walks) {
    const { ms, lines } = await run(tool, [...target, ...extra, subtree]);
    if (lines < expected) throw new Error(`${tool} ${extra.join(' ')} ${subtree} listed ${lines} of ${expected} OIDs`);
    results[label] = ms;
  }
  return results;
}

// ---- the report ------------------------------------------------------------------------------------

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const range = (values, digits = 0) =>
  !values ? '–' : `${median(values).toLocaleString('en', { maximumFractionDigits: digits })} [${Math.min(...values).toLocaleString('en', { maximumFractionDigits: digits })}–${Math.max(...values).toLocaleString('en', { maximumFractionDigits: digits })}]`;

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(__dirname, '../dist/snmp/index.js'))) usage('dist/ is missing: run `npm run build:ts` first');
  const kinds = options.baseline ? ['shmetrics', 'net-snmp Agent'] : ['shmetrics'];
  const gets = Object.fromEntries(kinds.map((kind) => [kind, { seq: [], deep: [] }]));

  process.stderr.write(`GETs: ${options.metrics} metrics, ${options.reps} × ${options.seconds} s per figure\n`);
  for (let rep = 0; rep < options.reps; rep++)
    for (const kind of rep % 2 ? [...kinds].reverse() : kinds) {
      const agent = await startAgent(kind === 'shmetrics' ? 'shmetrics' : 'net-snmp', options.metrics);
      for (const [label, depth] of [
        ['seq', 1],
        ['deep', 32],
      ]) {
        const result = await measureGets(agent, depth, options.seconds);
        gets[kind][label].push(result);
        process.stderr.write(`  ${kind} ${label}: ${Math.round(result.perSecond)} GET/s, agent CPU ${Math.round(result.cpuPercent)} %\n`);
      }
      await stopAgent(agent);
    }

  const walks = {};
  for (const count of options.walkSizes)
    for (const kind of kinds) {
      const agent = await startAgent(kind === 'shmetrics' ? 'shmetrics' : 'net-snmp', count);
      for (let rep = 0; rep < options.reps; rep++) {
        const result = await measureWalks(agent, count, kind);
        for (const [label, ms] of Object.entries(result)) ((walks[`${count}`] ??= {})[label] ??= {})[kind] = [...(walks[`${count}`][label][kind] ?? []), ms];
        process.stderr.write(`  walk ${count} ${kind}: ${Object.entries(result).map(([l, ms]) => `${l} ${Math.round(ms)} ms`).join(', ')}\n`);
      }
      await stopAgent(agent);
    }

  const cpu = os.cpus();
  const out = [];
  out.push(`## SNMP agent (${new Date().toISOString().slice(0, 10)}; Node ${process.version}; ${cpu.length} × ${cpu[0].model.trim()})`, '');
  out.push(`GETs per second, one single-varbind v2c GET of a Counter64 among ${options.metrics} metrics; median [min–max] of ${options.reps} × ${options.seconds} s:`, '');
  out.push('| agent | sequential | 32 outstanding | agent CPU at 32 | agent CPU per GET at 32 |', '|---|---|---|---|---|');
  for (const kind of kinds) {
    const { seq, deep } = gets[kind];
    out.push(
      `| ${kind} | ${range(seq.map((r) => r.perSecond))} | ${range(deep.map((r) => r.perSecond))} | ${Math.round(median(deep.map((r) => r.cpuPercent)))} % | ${median(deep.map((r) => r.cpuMicrosPerGet)).toFixed(1)} µs |`,
    );
  }
  const failures = kinds.flatMap((kind) => [...gets[kind].seq, ...gets[kind].deep]).reduce((n, r) => n + r.bad + r.lost, 0);
  out.push('', `Bad or lost answers: ${failures}.`);
  if (kinds.some((kind) => median(gets[kind].deep.map((r) => r.cpuPercent)) < 90))
    out.push(
      'An agent below 100 % CPU at 32 outstanding was not the limit (the one-process client or the other load on the machine was):',
      'compare agents by their CPU per GET.',
    );
  out.push(`Load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`, '');
  for (const [count, byTool] of Object.entries(walks)) {
    out.push(`Walk of ${Number(count).toLocaleString('en')} metrics (wall ms of the whole command, median [min–max] of ${options.reps}):`, '');
    out.push(`| tool | ${kinds.join(' | ')} |`, `|---|${kinds.map(() => '---|').join('')}`);
    for (const [label, byKind] of Object.entries(byTool)) out.push(`| ${label} | ${kinds.map((kind) => range(byKind[kind])).join(' | ')} |`);
    out.push('');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv[2] === '--serve') serve(process.argv[3], Number(process.argv[4]));
else
  main().catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
