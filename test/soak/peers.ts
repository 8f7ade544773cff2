/**
 * The real peers of the soak's stats pushers, started with the suite's own helpers, and the chaos done to
 * them: each is stopped and started again (rrdtool, which the pusher runs itself, is SIGKILLed; the file
 * pusher's file is rotated away) and the soak waits until values pushed after the restart arrive.
 *
 * A peer whose daemon or tool is missing is left out loudly (missingPeer: a failure under CI=true).
 */

import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { commandExists, missingPeer } from '../helpers/peers';
import { startStatsd, STATSD_SCRIPT, type StatsdDaemon } from '../push/helpers/statsd-daemon';
import { freeUdpPort } from '../push/helpers/udp-peers';
import { CARBON_CACHE, carbonAvailable, startCarbon, type CarbonPeer } from '../push/peers/carbon';
import { accepts, startDaemon, waitFor, type Daemon } from '../push/peers/daemon';
import { childrenOf, signal, sleep } from './probes';

const run = promisify(execFile);

/** How long a pusher may take to deliver again after its peer came back (its backoff doubles up to 30 s). */
export const RECONNECT_BOUND_MS = 45_000;
/** How long each peer stays down. */
const DOWN_MS = 3_000;
/** The metric whose pushed values prove that a pusher delivers. */
const PROBE_METRIC = 'soak.shared.0';

export interface PeerCycle {
  peer: string;
  /** Milliseconds from the peer's restart to the first value pushed after it that arrived; undefined: never. */
  reconnectMs?: number;
  error?: string;
}

/** A UDP sink for the socket pusher, on a fixed port so that it can be closed and bound again. */
class SocketSink {
  private socket?: dgram.Socket;
  /** The last value received per pushed name (`shmetrics.<name> <type> <value>`). */
  readonly last = new Map<string, bigint>();
  datagrams = 0;
  private listeners: ((name: string) => void)[] = [];

  constructor(readonly port: number) {}

  async open(): Promise<void> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message) => {
      this.datagrams++;
      const match = /^shmetrics\.(\S+) \d (-?\d+)$/.exec(message.toString('utf8'));
      if (!match) return;
      this.last.set(match[1], BigInt(match[2]));
      for (const listener of this.listeners) listener(match[1]);
    });
    socket.bind(this.port, '127.0.0.1');
    await once(socket, 'listening');
    // A push of thousands of metrics is thousands of datagrams to a receiver in a busy process.
    socket.setRecvBufferSize(4 * 1024 * 1024);
    this.socket = socket;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** Resolves when a datagram for `name` arrives. */
  next(name: string): Promise<void> {
    return new Promise((resolve) => {
      const listener = (got: string) => {
        if (got !== name) return;
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve();
      };
      this.listeners.push(listener);
    });
  }
}

export class SoakPeers {
  statsd?: StatsdDaemon;
  private statsdPort = 0;
  carbon?: CarbonPeer;
  /** The carbon-cache running now (the helper's first one, then the ones started again here). */
  private carbonDaemon?: Daemon;
  sink?: SocketSink;
  rrdDir?: string;
  readonly filePath: string;
  /** What was left out, and why. */
  readonly missing: string[] = [];

  constructor(private readonly dir: string) {
    this.filePath = path.join(dir, 'pushed.stats');
  }

  async start(): Promise<void> {
    const noStatsd = missingPeer('statsd (npm devDependency)', STATSD_SCRIPT !== undefined, 'npm install');
    if (noStatsd) this.missing.push(noStatsd);
    else {
      this.statsd = await startStatsd();
      this.statsdPort = this.statsd.udpPort;
    }
    const noCarbon = missingPeer('carbon-cache', carbonAvailable());
    if (noCarbon) this.missing.push(noCarbon);
    else {
      this.carbon = await startCarbon();
      this.carbonDaemon = this.carbon.daemon;
    }
    const noRrdtool = missingPeer('rrdtool', commandExists('rrdtool'));
    if (noRrdtool) this.missing.push(noRrdtool);
    else {
      this.rrdDir = path.join(this.dir, 'rrd');
      fs.mkdirSync(this.rrdDir);
    }
    this.sink = new SocketSink(await freeUdpPort());
    await this.sink.open();
  }

  /** The master's --stats-push options for every peer that is here. */
  pushOptions(): string[] {
    const specs: string[] = [];
    if (this.statsd) specs.push(`statsd:127.0.0.1:${this.statsdPort}`);
    // carbon-cache and rrdtool write a file per metric: they get the soak's fixed counters only.
    if (this.carbon) specs.push(`carbon:127.0.0.1:${this.carbon.linePort},hostname=soak,allow=soak.shared.;soak.worker.`);
    specs.push(`socket:127.0.0.1:${this.sink!.port}`);
    if (this.rrdDir) specs.push(`rrdtool:${this.rrdDir},step=10,allow=soak.shared.`);
    specs.push(`file:path=${this.filePath},freq=5`);
    return specs.flatMap((spec) => ['--stats-push', spec]);
  }

  /** Stops and restarts every peer at once; resolves when each has received values again (or timed out). */
  async cycle(masterPid: () => number): Promise<PeerCycle[]> {
    const cycles: Promise<PeerCycle>[] = [this.cycleSocket(), this.cycleFile()];
    if (this.statsd) cycles.push(this.cycleStatsd());
    if (this.carbon) cycles.push(this.cycleCarbon());
    if (this.rrdDir) cycles.push(this.cycleRrdtool(masterPid));
    return Promise.all(cycles);
  }

  private async timed(peer: string, restart: () => Promise<void>, delivered: (since: number) => Promise<unknown>): Promise<PeerCycle> {
    try {
      await restart();
      const since = Date.now();
      await delivered(since);
      return { peer, reconnectMs: Date.now() - since };
    } catch (error) {
      return { peer, error: (error as Error).message.split('\n')[0] };
    }
  }

  private cycleStatsd(): Promise<PeerCycle> {
    return this.timed(
      'statsd',
      async () => {
        await this.statsd!.stop();
        this.statsd = undefined;
        await sleep(DOWN_MS);
        this.statsd = await startStatsd({ udpPort: this.statsdPort });
      },
      // The daemon starts empty: any soak counter it holds was pushed after the restart.
      () =>
        waitFor(
          'statsd to receive pushed counters again',
          async () => `shmetrics.${PROBE_METRIC}` in (await this.statsd!.counters().catch(() => ({}))),
          RECONNECT_BOUND_MS,
          200,
        ),
    );
  }

  private cycleCarbon(): Promise<PeerCycle> {
    const carbon = this.carbon!;
    return this.timed(
      'carbon',
      async () => {
        await this.carbonDaemon!.stop(3000);
        await sleep(DOWN_MS);
        // The helper's own configuration, started again on the same ports.
        this.carbonDaemon = startDaemon(CARBON_CACHE, [`--config=${carbon.dir}/carbon.conf`, '--nodaemon', 'start'], {
          logFile: path.join(carbon.dir, 'carbon.log'),
          env: { PYTHONWARNINGS: 'ignore' },
          cwd: carbon.dir,
        });
        await waitFor('carbon-cache to accept again', () => accepts(carbon.linePort), 20_000, 100);
      },
      (since) =>
        carbon.waitForPoints(
          `shmetrics.soak.${PROBE_METRIC}`,
          Math.floor(since / 1000),
          (points) => points.some(([time]) => time * 1000 > since),
          RECONNECT_BOUND_MS,
        ),
    );
  }

  private cycleSocket(): Promise<PeerCycle> {
    const sink = this.sink!;
    return this.timed(
      'socket',
      async () => {
        await sink.close();
        await sleep(DOWN_MS);
        await sink.open();
      },
      () => withTimeout(sink.next(PROBE_METRIC), RECONNECT_BOUND_MS, 'a datagram on the socket sink'),
    );
  }

  /** rrdtool is the pusher's own child: SIGKILLed, the pusher must start it again and go on updating. */
  private cycleRrdtool(masterPid: () => number): Promise<PeerCycle> {
    const file = path.join(this.rrdDir!, `${PROBE_METRIC}.rrd`);
    return this.timed(
      'rrdtool',
      async () => {
        const child = childrenOf(masterPid()).find((c) => c.command.startsWith('rrdtool'));
        if (!child) throw new Error('the master runs no rrdtool child');
        signal(child.pid, 'SIGKILL');
      },
      (since) =>
        waitFor(
          `${file} to be updated after rrdtool was killed`,
          async () => (await lastUpdate(file)) * 1000 > since,
          RECONNECT_BOUND_MS,
          250,
        ),
    );
  }

  /** The file pusher opens its file at every push: rotated away, it must be created again. */
  private cycleFile(): Promise<PeerCycle> {
    return this.timed(
      'file',
      async () => fs.renameSync(this.filePath, `${this.filePath}.rotated`),
      () => waitFor(`${this.filePath} to be created again`, async () => fs.existsSync(this.filePath), RECONNECT_BOUND_MS, 100),
    );
  }

  /** The last document the file pusher wrote: name -> value. */
  lastFileDocument(): Map<string, bigint> {
    const text = fs.readFileSync(this.filePath, 'utf8');
    const documents = text.split('\n\n').filter((d) => d.trim() !== '');
    const last = documents[documents.length - 1];
    const values = new Map<string, bigint>();
    // Values are exact 64-bit decimals: read them as text, not through JSON.parse's Numbers.
    for (const match of last.matchAll(/"([^"]+)":\{"type":\d,"oid":"[^"]*","value":(-?\d+)\}/g)) values.set(match[1], BigInt(match[2]));
    return values;
  }

  async stop(): Promise<void> {
    await this.statsd?.stop().catch(() => {});
    if (this.carbon) {
      await this.carbonDaemon?.stop(3000).catch(() => {});
      fs.rmSync(this.carbon.dir, { recursive: true, force: true });
    }
    await this.sink?.close();
  }
}

/** The time of an RRD file's last update (unix seconds), 0 when it cannot be read. */
async function lastUpdate(file: string): Promise<number> {
  try {
    const { stdout } = await run('rrdtool', ['last', file], { encoding: 'utf8' });
    return Number(stdout.trim()) || 0;
  } catch {
    return 0;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
