/**
 * UDP peers for the pusher tests: a capture peer (every datagram received, as text), free loopback ports,
 * and a black hole (a socket bound by another process that never reads, so the kernel drops silently).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

export interface UdpCapture {
  readonly port: number;
  readonly messages: string[];
  /** Resolves once `done(messages)` holds; rejects after `timeoutMs`. */
  waitFor(done: (messages: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** A UDP socket collecting every datagram; `port` 0 picks a free one. */
export async function startUdpCapture(port = 0, host = '127.0.0.1'): Promise<UdpCapture> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const messages: string[] = [];
  socket.on('message', (message) => messages.push(message.toString('utf8')));
  socket.bind(port, host);
  await once(socket, 'listening');
  // A test sends thousands of datagrams to a receiver in its own busy process: the kernel's default
  // receive buffer (208 KiB) would drop some. rmem_max allows 4 MiB here.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // Keep the default.
  }
  const bound = socket.address().port;
  return {
    port: bound,
    messages,
    waitFor: (done, timeoutMs = 10_000) => poll(() => (done(messages) ? messages : undefined), timeoutMs, `datagrams on port ${bound}`),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A UDP port nothing listens on right now (the kernel answers ICMP "port unreachable"). */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface BlackHole {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A UDP port bound by a child process that never reads: datagrams are accepted by the kernel and dropped
 * once the socket's buffer is full, with no error for the sender — what a black-holing peer looks like.
 */
export async function startBlackHole(): Promise<BlackHole> {
  const script = `
    const s = require('dgram').createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      s.setRecvBufferSize(4096);
      process.stdout.write(s.address().port + '\\n');
      process.kill(process.pid, 'SIGSTOP');
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(chunk.toString().trim());
  return {
    port,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function poll<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
