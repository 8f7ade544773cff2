/**
 * Real peers (carbon-cache, zabbix_proxy) run as foreground daemons started by a test: free loopback
 * ports, a temp dir for configs, data and logs, a readiness probe, and a stop that cannot leave them behind
 * (SIGTERM to exactly the daemon we started, SIGKILL to its process group after a timeout, and a last
 * SIGKILL at exit if the test runner goes away first).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A TCP port free on 127.0.0.1 right now, in [min, max] (kernel-chosen when no range is given). */
export async function freePort(min?: number, max?: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const wanted = min === undefined || max === undefined ? 0 : min + Math.floor(Math.random() * (max - min + 1));
    const port = await new Promise<number | undefined>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(undefined));
      server.listen({ host: '127.0.0.1', port: wanted, exclusive: true }, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (port !== undefined) return port;
  }
  throw new Error(`no free TCP port in ${min}..${max}`);
}

/** Several distinct free ports. */
export async function freePorts(count: number, min?: number, max?: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(min, max));
  return [...ports];
}

export function tempPeerDir(label: string): string {
  return fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), `shmetrics-peer-${label}-`));
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export interface Daemon {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** The daemon's output so far (for failure messages). */
  log(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL to its process group after `timeoutMs`; resolves when it has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `command` in the foreground in its own process group (setsid semantics: `detached`), its output
 * in `logFile`.
 */
export function startDaemon(command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Daemon {
  const out = fs.openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  child.on('error', () => {});
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  running.add(child);
  return {
    child,
    pid: child.pid ?? -1,
    logFile: options.logFile,
    log: () => (fs.existsSync(options.logFile) ? fs.readFileSync(options.logFile, 'utf8') : ''),
    exited: () => exited,
    async stop(timeoutMs = 10_000) {
      if (exited || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, timeoutMs);
      await exit;
      clearTimeout(timer);
      // Workers of the daemon (zabbix_proxy forks) must not outlive it.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
    },
  };
}
