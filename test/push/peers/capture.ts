/**
 * In-process stand-ins for peers that misbehave on purpose: a TCP line capture (counts connections, keeps
 * what it received, can stop reading), a fake Zabbix trapper with a scripted reply, and a black hole that
 * never completes a TCP handshake (a listening socket that never accepts, its backlog full).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { waitFor } from './daemon';

export interface TcpCapture {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Everything received, over every connection, in order of arrival. */
  text(): string;
  /** Complete lines received. */
  lines(): string[];
  lineCount(): number;
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  /** Stops reading from every connection (the kernel buffers fill, then the sender stalls). */
  pause(): void;
  resume(): void;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}

/** `keep: false` only counts lines (a test measuring the event loop must not pay for a growing string). */
export async function startTcpCapture(options: { port?: number; paused?: boolean; keep?: boolean } = {}): Promise<TcpCapture> {
  const keep = options.keep ?? true;
  const sockets = new Set<net.Socket>();
  let received = '';
  let lineCount = 0;
  let connections = 0;
  let paused = options.paused ?? false;
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (keep) received += chunk;
      for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) lineCount++;
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (!paused) socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, resolve);
  });
  const lines = (): string[] => {
    const all = received.split('\n');
    all.pop();
    return all;
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    text: () => received,
    lines,
    lineCount: () => lineCount,
    waitForLines: (count, timeoutMs = 5000) =>
      waitFor(`${count} lines`, async () => (lineCount >= count ? lines() : undefined), timeoutMs, 10).catch((error: Error) => {
        throw new Error(`${error.message} (have ${lineCount})`);
      }),
    pause() {
      paused = true;
      for (const socket of sockets) socket.pause();
    },
    resume() {
      paused = false;
      for (const socket of sockets) socket.resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A parsed sender request as the fake trapper saw it. */
export interface SenderRequestSeen {
  header: Buffer;
  json: { request: string; data: { host: string; key: string; value: string; clock?: number; ns?: number }[]; clock?: number; ns?: number };
}

/** What the fake trapper does with a request: reply with this info, or say nothing and close, or hang. */
export type TrapperBehaviour = { info: string; response?: string } | 'close' | 'hang';

export interface FakeTrapper {
  readonly port: number;
  readonly requests: SenderRequestSeen[];
  connections(): number;
  behave(next: (request: SenderRequestSeen) => TrapperBehaviour): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<SenderRequestSeen[]>;
  close(): Promise<void>;
}

export function zabbixFrame(json: string): Buffer {
  const body = Buffer.from(json);
  const header = Buffer.alloc(13);
  header.write('ZBXD\x01', 0, 'latin1');
  header.writeUInt32LE(body.length, 5);
  return Buffer.concat([header, body]);
}

/**
 * Answers like a trapper (one request per connection, then close), by default "processed: N; failed: 0".
 * `parse: false` skips the JSON (a test measuring the event loop must not pay for parsing the request).
 */
export async function startFakeTrapper(options: { port?: number; parse?: boolean } = {}): Promise<FakeTrapper> {
  const parse = options.parse ?? true;
  const requests: SenderRequestSeen[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let behaviour = (request: SenderRequestSeen): TrapperBehaviour => ({
    info: `processed: ${request.json.data.length}; failed: 0; total: ${request.json.data.length}; seconds spent: 0.000100`,
  });
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const chunks: Buffer[] = [];
    let size = 0;
    let expected = -1;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (expected < 0 && size >= 13) {
        const head = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        expected = 13 + head.readUInt32LE(5);
      }
      if (expected < 0 || size < expected) return;
      const data = Buffer.concat(chunks, size);
      const json = parse ? JSON.parse(data.subarray(13, expected).toString()) : { request: 'sender data', data: [] };
      const request = { header: data.subarray(0, 13), json };
      requests.push(request);
      const what = behaviour(request);
      if (what === 'close') socket.destroy();
      else if (what !== 'hang') socket.end(zabbixFrame(JSON.stringify({ response: what.response ?? 'success', info: what.info })));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    connections: () => connections,
    behave(next) {
      behaviour = next;
    },
    waitForRequests: (count, timeoutMs = 5000) =>
      waitFor(`${count} sender requests (have ${requests.length})`, async () => (requests.length >= count ? requests : undefined), timeoutMs, 5),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A trapper in a process of its own, answering "processed: 1" to every request without reading it. */
export interface TrapperProcess {
  readonly port: number;
  close(): Promise<void>;
}

const TRAPPER_PROCESS = `
const net = require('net');
const reply = (info) => {
  const body = Buffer.from(JSON.stringify({ response: 'success', info }));
  const header = Buffer.alloc(13);
  header.write('ZBXD\\x01', 0, 'latin1');
  header.writeUInt32LE(body.length, 5);
  return Buffer.concat([header, body]);
};
const server = net.createServer((socket) => {
  let size = 0;
  let expected = -1;
  let head = Buffer.alloc(0);
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    if (expected < 0) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= 13) expected = 13 + head.readUInt32LE(5);
    }
    size += chunk.length;
    if (expected >= 0 && size >= expected) socket.end(reply('processed: 1; failed: 0; total: 1; seconds spent: 0.000001'));
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** Starts TRAPPER_PROCESS with this Node; it exits when its stdin closes. */
export async function startTrapperProcess(): Promise<TrapperProcess> {
  const child = spawn(process.execPath, ['-e', TRAPPER_PROCESS], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return {
    port,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}

export interface BlackHole {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A port where connection attempts hang (SYNs dropped): /usr/bin/python3 listens with a backlog of 0 and
 * never accepts, and one connection of ours fills that backlog.
 */
export async function startBlackHole(): Promise<BlackHole> {
  const child: ChildProcess = spawn(
    '/usr/bin/python3',
    ['-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  const filler = net.connect({ host: '127.0.0.1', port });
  filler.on('error', () => {});
  await new Promise((resolve) => filler.once('connect', resolve));
  return {
    port,
    close: async () => {
      filler.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}
