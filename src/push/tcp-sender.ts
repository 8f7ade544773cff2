/**
 * The TCP side of the carbon and zabbix pushers: the peer's address resolved once, connections with a
 * connect timeout, exponential reconnect backoff, a queue capped in bytes that drops its oldest data
 * first, and one log line per change of state (down, dropping, up again) instead of one per push.
 * Nothing here throws into the caller or emits an unhandled 'error'; sockets and timers are unref'd, so
 * a pusher never keeps its process alive (close() is what flushes).
 */

import dns from 'node:dns';
import net from 'node:net';
import { PushSpecError } from '../errors';
import { parseKeyval, type KeyvalItem } from '../spec/keyval';
import { IdleWaiters } from './idle-waiters';

/** Reconnect delays start here and double after each failure, up to the pusher's retry_delay. */
export const FIRST_RETRY_DELAY_MS = 250;
/** Output is cut into pieces of about this many bytes, at line ends: the unit of queueing, dropping and writing. */
export const PIECE_BYTES = 64 * 1024;

/** The piece size for a queue cap: small enough that dropping one piece never empties a small queue. */
export function pieceBytesFor(maxQueueBytes: number): number {
  return Math.min(PIECE_BYTES, Math.max(1024, Math.floor(maxQueueBytes / 8)));
}
/** Pieces written to a socket per turn of the event loop. */
const WRITES_PER_TURN = 2;
/** A connection that lived this long resets the backoff when it ends. */
const STABLE_CONNECTION_MS = 10_000;
/** Idle connections are probed so that a peer that vanished is noticed even when nothing is being sent. */
const KEEPALIVE_DELAY_MS = 30_000;

export interface HostPort {
  host: string;
  port: number;
}

/**
 * `HOST:PORT` or `[IPV6]:PORT`; returns a problem (naming the value) instead of throwing, for the caller's
 * PushSpecError.
 */
export function parseHostPort(text: string): HostPort | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (!match) return `address ${JSON.stringify(text)} is not HOST:PORT`;
  const port = Number(match[3]);
  if (!(port >= 1 && port <= 65535)) return `port ${JSON.stringify(match[3])} in ${JSON.stringify(text)} is not 1..65535`;
  return { host: match[1] ?? match[2], port };
}

/** What every pusher keeps while its peer is unreachable, and how it retries. */
export interface DeliveryOptions {
  /** Connect and reply timeout (and what close() may take), or how long rrdtool may stay silent. */
  timeoutSeconds: number;
  /** The longest wait between two attempts. */
  retryDelaySeconds: number;
  /** The queue's cap: beyond it, the oldest data is dropped and counted. */
  maxQueueBytes: number;
}

/** The items of `NAME:ARGS`'s ARGS, and the `fail` that reports a bad one as a PushSpecError of the whole spec. */
export function pusherArgs(pusher: string, args: string): { items: KeyvalItem[]; fail: (detail: string) => never } {
  const spec = `${pusher}:${args}`;
  const fail = (detail: string): never => {
    throw new PushSpecError(spec, detail);
  };
  try {
    return { items: parseKeyval(args), fail };
  } catch (error) {
    return fail((error as Error).message);
  }
}

/**
 * The `KEY=VALUE` items (after the positional one) among `keys`, each at most once; a bare word is kept
 * under `bareKey` when the pusher has one (carbon's root, zabbix's prefix). `unknown` words the error of
 * any other item.
 */
export function keyedItems(
  items: readonly KeyvalItem[],
  keys: readonly string[],
  fail: (detail: string) => never,
  unknown: (key: string) => string,
  bareKey?: string,
): Map<string, string> {
  const values = new Map<string, string>();
  for (const item of items) {
    if (item.value === undefined && bareKey !== undefined) {
      if (values.has(bareKey)) fail(`a second ${bareKey} ${JSON.stringify(item.key)}: give the ${bareKey} once, bare or as ${bareKey}=`);
      values.set(bareKey, item.key);
      continue;
    }
    if (item.value === undefined || !keys.includes(item.key)) fail(unknown(item.key));
    if (values.has(item.key)) fail(`key ${JSON.stringify(item.key)} given twice`);
    values.set(item.key, item.value!);
  }
  return values;
}

/**
 * The keys `timeout=SECONDS`, `retry_delay=SECONDS` and `max_queue=BYTES` (1234, 64k, 8m) out of a
 * pusher's key values; `fail` reports a bad one (it throws the pusher's PushSpecError).
 */
export function parseDeliveryKeys(
  values: ReadonlyMap<string, string>,
  defaults: DeliveryOptions,
  fail: (detail: string) => never,
): DeliveryOptions {
  const seconds = (key: string, fallback: number): number => {
    const text = values.get(key);
    if (text === undefined) return fallback;
    const parsed = /^(\d+(\.\d+)?|\.\d+)$/.test(text) ? Number(text) : NaN;
    return parsed > 0 && parsed <= 86_400 ? parsed : fail(`${key}=${JSON.stringify(text)} is not a number of seconds in (0, 86400]`);
  };
  const retryDelaySeconds = seconds('retry_delay', defaults.retryDelaySeconds);
  if (retryDelaySeconds * 1000 < FIRST_RETRY_DELAY_MS) {
    fail(`retry_delay=${values.get('retry_delay')} is below the first retry delay, ${FIRST_RETRY_DELAY_MS / 1000} s`);
  }
  const maxQueue = values.get('max_queue');
  let maxQueueBytes = defaults.maxQueueBytes;
  if (maxQueue !== undefined) {
    const match = /^(\d+)([kKmM]?)$/.exec(maxQueue);
    const scale = match?.[2] === '' ? 1 : match?.[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024;
    maxQueueBytes = match ? Number(match[1]) * scale : NaN;
    if (!(Number.isSafeInteger(maxQueueBytes) && maxQueueBytes > 0)) {
      fail(`max_queue=${JSON.stringify(maxQueue)} is not a byte count (1234, 64k, 8m)`);
    }
  }
  return { timeoutSeconds: seconds('timeout', defaults.timeoutSeconds), retryDelaySeconds, maxQueueBytes };
}

/** `8 MiB`, `512 KiB`, `100 bytes`, for log lines and errors. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** A short reason for a log line: the error code when there is one (ECONNREFUSED), else the message. */
export function describeError(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && code !== '') return code;
  return typeof message === 'string' && message !== '' ? message : String(error);
}

/**
 * The peer's address, looked up once and then reused for every connection (not once per push). A failed
 * connection forgets it, so the next attempt looks the name up again: a peer that moved is found.
 */
export class PeerAddress {
  private cached?: Promise<{ address: string; family: number }>;

  constructor(readonly host: string) {}

  resolve(): Promise<{ address: string; family: number }> {
    if (this.cached === undefined) {
      const family = net.isIP(this.host);
      this.cached =
        family !== 0 ? Promise.resolve({ address: this.host, family }) : dns.promises.lookup(this.host, { verbatim: true });
      // A failed lookup is not kept: the next attempt asks again.
      this.cached.catch(() => (this.cached = undefined));
    }
    return this.cached;
  }

  forget(): void {
    if (net.isIP(this.host) === 0) this.cached = undefined;
  }
}

/** Exponential backoff: FIRST_RETRY_DELAY_MS, doubled after each failure, capped; reset by a success. */
export class Backoff {
  private failures = 0;

  constructor(private readonly maxMs: number) {}

  next(): number {
    const delay = Math.min(this.maxMs, FIRST_RETRY_DELAY_MS * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return delay;
  }

  reset(): void {
    this.failures = 0;
  }
}

export interface PeerHealthOptions {
  /** Log prefix: the pusher instance and the peer, e.g. `carbon 127.0.0.1:2003`. */
  label: string;
  /** What the dropped counts count, plural: "lines", "values", "updates". */
  unit: string;
  maxQueueBytes: number;
  maxRetryMs: number;
  /** Words for the recovery line; default "reachable again". */
  recovered?: string;
  log(message: string): void;
  dropped(count: number): void;
}

/**
 * The state of a peer as the log sees it. Each change is logged once: the first failure (with what
 * happens meanwhile), the first drop of queued data, and the recovery (with how long it took and how much
 * was dropped). Repeated failures of the same outage log nothing more.
 */
export class PeerHealth {
  private state: 'new' | 'up' | 'down' = 'new';
  private downSince = 0;
  private droppedSinceLogged = 0;
  private droppingLogged = false;

  constructor(private readonly options: PeerHealthOptions) {}

  get isDown(): boolean {
    return this.state === 'down';
  }

  up(): void {
    if (this.state === 'down') {
      const seconds = ((Date.now() - this.downSince) / 1000).toFixed(1);
      const dropped = this.droppedSinceLogged > 0 ? `; ${this.droppedSinceLogged} ${this.options.unit} dropped meanwhile` : '';
      this.options.log(`${this.options.label}: ${this.options.recovered ?? 'reachable again'} after ${seconds} s${dropped}`);
      this.droppedSinceLogged = 0;
      this.droppingLogged = false;
    }
    this.state = 'up';
  }

  down(reason: string): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.downSince = Date.now();
    const { label, maxQueueBytes, maxRetryMs } = this.options;
    this.options.log(
      `${label}: ${reason}; queueing up to ${formatBytes(maxQueueBytes)}, retrying with backoff (at most every ${maxRetryMs / 1000} s)`,
    );
  }

  /**
   * Counts `count` items dropped (into context.dropped); the first drop of an episode is logged, with
   * `message` or else "queue full (cap): dropping the oldest <unit>".
   */
  dropped(count: number, message?: string): void {
    if (count <= 0) return;
    this.lost(count);
    if (!this.droppingLogged) {
      this.droppingLogged = true;
      const full = `queue full (${formatBytes(this.options.maxQueueBytes)}): dropping the oldest ${this.options.unit}`;
      this.options.log(`${this.options.label}: ${message ?? full}`);
    }
  }

  /** Counts `count` items lost without a log line of their own (the recovery line reports them). */
  lost(count: number): void {
    if (count <= 0) return;
    this.options.dropped(count);
    this.droppedSinceLogged += count;
  }

  /** The queue emptied while the peer was up: a later overflow is a new episode and is logged again. */
  caughtUp(): void {
    if (this.state !== 'down' && this.droppingLogged) {
      this.options.log(`${this.options.label}: caught up; ${this.droppedSinceLogged} ${this.options.unit} were dropped`);
      this.droppedSinceLogged = 0;
      this.droppingLogged = false;
    }
  }
}

/**
 * Opens a TCP connection to `address` with a connect timeout. Resolves with the connected socket (error
 * listener attached, unref'd) or rejects with the reason; never leaves a socket behind on failure.
 */
export function connectTcp(address: PeerAddress, port: number, timeoutMs: number): Promise<net.Socket> {
  return address.resolve().then(
    ({ address: ip, family }) =>
      new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect({ host: ip, port, family });
        socket.unref();
        const timer = setTimeout(() => socket.destroy(new Error(`no connection after ${timeoutMs / 1000} s`)), timeoutMs);
        timer.unref();
        const onError = (error: Error): void => {
          clearTimeout(timer);
          socket.destroy();
          address.forget();
          reject(error);
        };
        socket.once('error', onError);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.off('error', onError);
          resolve(socket);
        });
      }),
  );
}

/** Some lines of text (carbon's plaintext protocol), ending with `\n`; never split further. */
export interface Piece {
  readonly data: Buffer;
  readonly lines: number;
}

export interface TcpLineSenderOptions extends PeerHealthOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** A connection that takes none of our pending data for this long is dropped and made again. */
  stallTimeoutMs: number;
}

/**
 * One persistent connection carrying a stream of lines. Pieces wait in a queue capped at maxQueueBytes
 * (oldest dropped first, counted); at most one piece beyond it sits in the socket's own buffer. Pieces
 * written to a connection that broke before the kernel took them are sent again on the next one (lines
 * are whole in every piece, so the new connection never starts mid-line).
 */
export class TcpLineSender {
  private readonly queue: Piece[] = [];
  private queued = 0;
  private readonly address: PeerAddress;
  private readonly backoff: Backoff;
  readonly health: PeerHealth;
  private socket?: net.Socket;
  private connected = false;
  private connecting = false;
  /** Written to the current socket, not yet handed to the kernel: sent again if the connection breaks. */
  private inFlight: Piece[] = [];
  private retryTimer?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private connectedAt = 0;
  private closing = false;
  private closed = false;
  private readonly idle = new IdleWaiters();
  private flushScheduled = false;

  constructor(private readonly options: TcpLineSenderOptions) {
    this.address = new PeerAddress(options.host);
    this.backoff = new Backoff(options.maxRetryMs);
    this.health = new PeerHealth(options);
  }

  /** Bytes waiting in the queue (not counting the piece being written). */
  get queuedBytes(): number {
    return this.queued;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  enqueue(piece: Piece): void {
    if (this.closed) {
      this.health.lost(piece.lines);
      return;
    }
    this.queue.push(piece);
    this.queued += piece.data.length;
    this.trim();
    this.pump();
  }

  /**
   * Sends what is queued for at most `timeoutMs` (connecting once more if needed), then closes the
   * connection; what is left is counted as dropped.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const deadline = Date.now() + timeoutMs;
    // Everything is unref'd so that a pusher never keeps its process alive; while closing, the flush must.
    this.socket?.ref();
    if (this.queue.length > 0 || this.inFlight.length > 0) {
      if (!this.connected && !this.connecting) void this.connect();
      await this.waitIdle(deadline);
    }
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      socket.end();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.destroy(), Math.max(0, deadline - Date.now()));
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.closed = true;
    const left = this.queue.reduce((sum, piece) => sum + piece.lines, 0) + this.inFlight.reduce((sum, p) => sum + p.lines, 0);
    this.queue.length = 0;
    this.inFlight = [];
    this.queued = 0;
    if (left > 0) {
      this.options.dropped(left);
      this.options.log(`${this.options.label}: closed with ${left} ${this.options.unit} not sent`);
    }
  }

  private trim(): void {
    let lines = 0;
    while (this.queued > this.options.maxQueueBytes && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      this.queued -= oldest.data.length;
      lines += oldest.lines;
    }
    this.health.dropped(lines);
  }

  private pump(): void {
    if (this.connected) this.flush();
    else if (!this.connecting && this.retryTimer === undefined && this.queue.length > 0) void this.connect();
  }

  private async connect(): Promise<void> {
    this.connecting = true;
    let socket: net.Socket;
    try {
      socket = await connectTcp(this.address, this.options.port, this.options.connectTimeoutMs);
    } catch (error) {
      this.connecting = false;
      this.failed(`cannot connect (${describeError(error)})`);
      return;
    }
    this.connecting = false;
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.closing) socket.ref();
    this.socket = socket;
    this.connected = true;
    this.connectedAt = Date.now();
    this.health.up();
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    let lastError: Error | undefined;
    socket.on('error', (error) => (lastError = error));
    // Carbon never answers; whatever a peer sends is read and discarded so it cannot fill a buffer.
    socket.on('data', () => {});
    socket.on('drain', () => {
      this.clearStallTimer();
      this.flush();
    });
    socket.once('close', () => this.onClose(socket, lastError));
    this.flush();
  }

  private onClose(socket: net.Socket, error: Error | undefined): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.connected = false;
    this.clearStallTimer();
    // Pieces the kernel never took go back to the front, oldest first.
    if (this.inFlight.length > 0) {
      this.queue.unshift(...this.inFlight);
      for (const piece of this.inFlight) this.queued += piece.data.length;
      this.inFlight = [];
      this.trim();
    }
    if (this.closing) {
      this.idle.notify();
      return;
    }
    // A peer that accepts and drops connections at once must not be reconnected to in a tight loop.
    if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.backoff.reset();
    if (error) this.failed(`connection lost (${describeError(error)})`);
    else if (this.queue.length > 0) this.failed('connection closed by the peer');
    // A clean close of an idle connection is no outage: the next push connects again.
  }

  private failed(reason: string): void {
    this.health.down(reason);
    if (this.closing) {
      this.idle.notify();
      return;
    }
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
    this.retryTimer.unref();
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    // A few pieces per turn of the event loop: a megabyte written at once costs milliseconds of copying.
    for (let writes = 0; this.queue.length > 0 && !socket.writableNeedDrain; writes++) {
      if (writes === WRITES_PER_TURN) {
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => {
            this.flushScheduled = false;
            this.flush();
          });
        }
        break;
      }
      const piece = this.queue.shift()!;
      this.queued -= piece.data.length;
      this.inFlight.push(piece);
      socket.write(piece.data, (error) => {
        if (error || this.socket !== socket) return;
        const index = this.inFlight.indexOf(piece);
        if (index >= 0) this.inFlight.splice(index, 1);
        if (this.inFlight.length === 0 && this.queue.length === 0) {
          this.health.caughtUp();
          this.idle.notify();
        }
      });
    }
    if (socket.writableNeedDrain && this.stallTimer === undefined) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = undefined;
        socket.destroy(new Error(`the peer took no data for ${this.options.stallTimeoutMs / 1000} s`));
      }, this.options.stallTimeoutMs);
      this.stallTimer.unref();
    }
  }

  private clearStallTimer(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private waitIdle(deadline: number): Promise<void> {
    return this.idle.wait(() => (this.queue.length === 0 && this.inFlight.length === 0) || (!this.connected && !this.connecting), deadline);
  }
}
