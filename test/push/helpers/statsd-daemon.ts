/**
 * The etsy statsd daemon (npm `statsd`, a devDependency) on free loopback ports, for a test: started from a
 * temp dir, ready only once it both answers its admin port and has counted a probe datagram ("server is
 * up" is logged before its sockets are bound), read back through the admin interface, stopped for sure.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, freeUdpPort, poll } from './udp-peers';

export const STATSD_SCRIPT = (() => {
  try {
    return require.resolve('statsd/stats.js');
  } catch {
    return undefined;
  }
})();

export interface StatsdDaemon {
  readonly udpPort: number;
  readonly mgmtPort: number;
  /** One admin command (`counters`, `gauges`, `delcounters x`...); the raw reply. */
  command(command: string): Promise<string>;
  counters(): Promise<Record<string, number>>;
  gauges(): Promise<Record<string, number>>;
  /** The daemon's output (with dumpMessages: every line it received). */
  output(): string;
  stop(): Promise<void>;
}

const PROBE_KEY = 'statsd_test_probe';

/** Starts statsd; on `udpPort` when given (a test's pusher may already be sending there). */
export async function startStatsd(options: { udpPort?: number } = {}): Promise<StatsdDaemon> {
  if (!STATSD_SCRIPT) throw new Error('the statsd package is not installed (npm install)');
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryStart(options.udpPort);
    } catch (error) {
      // A port taken between choosing it and statsd binding it: choose again.
      if (attempt >= 3) throw error;
    }
  }
}

async function tryStart(wantedUdpPort: number | undefined): Promise<StatsdDaemon> {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'shmetrics-statsd-'));
  const udpPort = wantedUdpPort ?? (await freeUdpPort());
  const mgmtPort = await freeTcpPort();
  const config = {
    address: '127.0.0.1',
    port: udpPort,
    mgmt_address: '127.0.0.1',
    mgmt_port: mgmtPort,
    // Long: the admin interface shows counters since the last flush, and a flush sets them to 0.
    flushInterval: 3_600_000,
    backends: [],
    deleteIdleStats: false,
    automaticConfigReload: false,
    dumpMessages: true,
    title: false,
  };
  const configPath = path.join(dir, 'config.js');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn(process.execPath, [STATSD_SCRIPT!, configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  let exited = false;
  const exit = once(child, 'exit').then(() => (exited = true));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const command = (text: string) => adminCommand(mgmtPort, text);
  const daemon: StatsdDaemon = {
    udpPort,
    mgmtPort,
    command,
    counters: async () => parseInspected(await command('counters')),
    gauges: async () => parseInspected(await command('gauges')),
    output: () => output,
    stop,
  };
  try {
    await poll(
      async () => {
        if (exited) throw new Error(`statsd exited while starting: ${output}`);
        return (await command('health').catch(() => '')).includes('health: up') ? true : undefined;
      },
      10_000,
      'the statsd admin port',
    );
    const probe = dgram.createSocket('udp4');
    try {
      await poll(
        async () => {
          probe.send(`${PROBE_KEY}:1|c`, udpPort, '127.0.0.1');
          return (await daemon.counters())[PROBE_KEY] ? true : undefined;
        },
        10_000,
        'statsd to count a probe datagram',
        50,
      );
    } finally {
      probe.close();
    }
    await command(`delcounters ${PROBE_KEY}`);
    return daemon;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One command per connection: statsd treats each TCP read as one command. */
function adminCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`statsd admin "${command}": no complete reply within 5 s (got ${JSON.stringify(reply)})`));
    }, 5_000);
    const finish = () => {
      clearTimeout(timer);
      socket.end();
      resolve(reply);
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (text: string) => {
      reply += text;
      if (reply.includes('END\n\n') || /^health: \w+\n/.test(reply) || reply.startsWith('ERROR')) finish();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Reads the `util.inspect` object statsd prints: `{ 'a.b': 5, foo: -1.5 }`. */
export function parseInspected(text: string): Record<string, number> {
  const result: Record<string, number> = {};
  const entry = /(?:'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*)):\s*(-?(?:\d+\.?\d*(?:e[+-]?\d+)?|Infinity|NaN))/g;
  for (const match of text.matchAll(entry)) result[match[1] ?? match[2]] = Number(match[3]);
  return result;
}
