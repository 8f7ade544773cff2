/**
 * What the statsd and socket pushers share: their `HOST:PORT[,prefix]` arguments, and a UdpSender — one
 * connected UDP socket to the peer, a bounded queue of datagrams, and the formatting and sending of a
 * cycle's datagrams done in short slices of the event loop, never in one long run. The slices of every
 * pusher (the file pusher's too) share one budget per turn of the event loop: requestSlice().
 *
 * The socket is connected so that the kernel reports an ICMP "port unreachable" (nothing listening) as
 * ECONNREFUSED: that is how a refusing or absent peer is noticed. A hostname is resolved when the sender
 * starts and again only after the peer became unreachable, never per datagram.
 */

import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { PushSpecError } from '../errors';
import { parseKeyval, type KeyvalItem } from '../spec/keyval';
import type { PusherContext } from './pusher';

/** One datagram and how many metric values it carries (what `dropped` counts when it is lost). */
export interface Datagram {
  readonly payload: string;
  /** Byte length of the payload (the pushers write ASCII only, so this is its length). */
  readonly bytes: number;
  readonly values: number;
}

/** The datagrams of one push, made one at a time when the sender wants them. */
export interface DatagramSource {
  /** The next datagram, or undefined when there is none left. */
  next(): Datagram | undefined;
  /** Values not yet put into a datagram. */
  readonly remaining: number;
}

export interface UdpPeer {
  host: string;
  port: number;
}

/**
 * Pushes handed over and not yet formatted. One is the rule (a push is formatted within a few turns of the
 * event loop); more wait only when pushes come faster than the loop turns (pushNow() in a row, the final
 * push right after a cycle). Past this, the oldest is dropped and counted: each holds a whole snapshot.
 */
export const MAX_PENDING_PUSHES = 4;
/** Default cap on what a UDP pusher keeps while its peer is unreachable: 8 cycles of 10,000 statsd lines. */
export const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024;
/** What a queued datagram costs besides its payload (the JS object and string headers), for the cap. */
export const DATAGRAM_OVERHEAD_BYTES = 80;
/** The longest stretch of formatting and sending done in one turn of the event loop, by all pushers together. */
export const SLICE_MS = 1;
/**
 * Datagrams sent per turn of the event loop. A receiver reads about this many per turn itself (libuv reads
 * up to 32 per wake-up), so a peer in the same busy process, or on a loaded host, is not flooded past its
 * receive buffer.
 */
export const MAX_SENDS_PER_SLICE = 32;
/** Sends handed to libuv and not yet completed; past this, datagrams wait in the (capped) queue instead. */
export const MAX_IN_FLIGHT = 64;
/** Retry delays after the peer became unreachable: doubling from the first to the last. */
export const BACKOFF_MIN_MS = 250;
export const BACKOFF_MAX_MS = 30_000;
/**
 * After an unreachable peer, one datagram goes first, alone; if no ICMP error comes back within this time
 * the peer counts as reachable again (an ICMP reply takes microseconds on loopback, milliseconds on a LAN).
 */
export const PROBE_CONFIRM_MS = 200;
/** How long close() keeps sending what is queued before dropping (and counting) the rest. */
export const CLOSE_TIMEOUT_MS = 2_000;

/** Errors that mean the peer (or the way to it) is not there, as opposed to one bad datagram. */
const PEER_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ENOTCONN', 'EPERM', 'EACCES']);

const q = (text: string): string => JSON.stringify(text);
const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException)?.code ?? String((error as Error)?.message ?? error);

// ---------------------------------------------------------------------------------------------------
// Slices: the background work of every pusher, SLICE_MS per turn of the event loop in all

/** Works until `deadline` (a performance.now() time), then returns; asks again by requestSlice() if needed. */
export type SliceTask = (deadline: number) => void;

const waitingTasks = new Set<SliceTask>();
let turnScheduled = false;

/** Runs `task` in the next turn of the event loop, sharing that turn's SLICE_MS with the other pushers. */
export function requestSlice(task: SliceTask): void {
  waitingTasks.add(task);
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(runTurn);
}

function runTurn(): void {
  turnScheduled = false;
  const deadline = performance.now() + SLICE_MS;
  // Tasks that ask again while running wait for the next turn; those not reached keep their place first.
  const tasks = [...waitingTasks];
  waitingTasks.clear();
  let ran = 0;
  for (; ran < tasks.length && (ran === 0 || performance.now() < deadline); ran++) {
    try {
      tasks[ran](deadline);
    } catch {
      // Tasks catch and log their own errors; this only keeps a bug from reaching the application.
    }
  }
  if (ran < tasks.length) {
    const again = [...waitingTasks];
    waitingTasks.clear();
    for (const task of [...tasks.slice(ran), ...again]) waitingTasks.add(task);
  }
  if (waitingTasks.size > 0 && !turnScheduled) {
    turnScheduled = true;
    setImmediate(runTurn);
  }
}

// ---------------------------------------------------------------------------------------------------
// Arguments: HOST:PORT[,prefix][,key=value...]

export interface UdpPusherArgs {
  peer: UdpPeer;
  prefix: string;
  maxQueueBytes: number;
  /** The pusher's own keys (`extraKeys`), as given. */
  options: Map<string, string>;
}

/**
 * Parses `HOST:PORT[,prefix]` followed by keyval options (`max_queue=BYTES` and the pusher's `extraKeys`).
 * `spec` is used in errors only.
 */
export function parseUdpPusherArgs(pusher: string, args: string, defaultPrefix: string, extraKeys: readonly string[]): UdpPusherArgs {
  const spec = `${pusher}:${args}`;
  let items: KeyvalItem[];
  try {
    items = parseKeyval(args);
  } catch (error) {
    throw new PushSpecError(spec, (error as Error).message);
  }
  const positional = items.filter((item) => item.value === undefined).map((item) => item.key);
  const keys = ['max_queue', ...extraKeys];
  const options = new Map<string, string>();
  for (const { key, value } of items) {
    if (value === undefined) continue;
    if (!keys.includes(key)) throw new PushSpecError(spec, `unknown key ${q(key)} (known: ${keys.join(', ')}, and freq, allow, forbid)`);
    if (options.has(key)) throw new PushSpecError(spec, `${key} is given twice`);
    options.set(key, value);
  }
  if (positional.length === 0 || positional[0] === '')
    throw new PushSpecError(spec, `missing the peer address (expected ${pusher}:HOST:PORT[,prefix], such as ${pusher}:127.0.0.1:8125)`);
  if (positional.length > 2)
    throw new PushSpecError(spec, `too many items: ${positional.map(q).join(', ')} (expected ${pusher}:HOST:PORT[,prefix])`);
  const peer = parseHostPort(spec, positional[0]);
  const prefix = positional.length > 1 ? positional[1] : defaultPrefix;
  if (!/^[\x21-\x7e]*$/.test(prefix) || /[:|@#]/.test(prefix))
    throw new PushSpecError(spec, `prefix ${q(prefix)}: only printable ASCII without spaces and without : | @ #`);
  const maxQueue = options.get('max_queue');
  const maxQueueBytes = maxQueue === undefined ? DEFAULT_MAX_QUEUE_BYTES : parsePositiveInteger(spec, 'max_queue', maxQueue);
  return { peer, prefix, maxQueueBytes, options };
}

/** `HOST:PORT` or `[IPv6]:PORT`. */
export function parseHostPort(spec: string, text: string): UdpPeer {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') throw new PushSpecError(spec, `address ${q(text)}: expected [IPv6]:PORT`);
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (net.isIPv6(host) === false) throw new PushSpecError(spec, `address ${q(text)}: ${q(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) throw new PushSpecError(spec, `address ${q(text)}: missing ":PORT" (expected HOST:PORT)`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new PushSpecError(spec, `address ${q(text)}: write an IPv6 address in brackets, as [::1]:8125`);
  }
  if (host === '') throw new PushSpecError(spec, `address ${q(text)}: empty host`);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new PushSpecError(spec, `address ${q(text)}: port ${q(portText)} must be 1..65535`);
  return { host, port };
}

export function parsePositiveInteger(spec: string, key: string, text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && Number.isSafeInteger(n))) throw new PushSpecError(spec, `${key} ${q(text)} must be a positive integer`);
  return n;
}

// ---------------------------------------------------------------------------------------------------
// The sender

type State =
  /** Nothing handed over yet. */
  | 'new'
  /** Resolving the hostname or connecting the socket. */
  | 'connecting'
  /** The next datagram goes alone, and the peer counts as reachable once no error answered it. */
  | 'probing'
  | 'up'
  /** Unreachable; a retry is scheduled. Datagrams keep being queued, up to the cap. */
  | 'down'
  | 'closed';

export class UdpSender {
  private state: State = 'new';
  private socket?: dgram.Socket;
  private address?: string;
  /** Whether the peer was reachable at the last change; undefined before the first answer. */
  private reachable?: boolean;
  private readonly sources: DatagramSource[] = [];
  private queue: (Datagram | undefined)[] = [];
  private head = 0;
  private queued = 0;
  private inFlight = 0;
  private probe?: Datagram;
  private probeTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private backoffMs = BACKOFF_MIN_MS;
  private droppedWhileDown = 0;
  private readonly loggedOnce = new Set<string>();
  private closing?: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout };

  constructor(
    private readonly peer: UdpPeer,
    private readonly context: PusherContext,
    private readonly maxQueueBytes: number,
  ) {}

  /** Bytes held in the queue (payloads plus DATAGRAM_OVERHEAD_BYTES each); never above the cap but for one datagram. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Datagrams waiting to be sent. */
  get queuedDatagrams(): number {
    return this.queue.length - this.head;
  }

  /** Nothing waits to be formatted or sent, and nothing is in flight. */
  get idle(): boolean {
    return this.sources.length === 0 && this.queuedDatagrams === 0 && this.inFlight === 0;
  }

  private get label(): string {
    return this.peer.host.includes(':') ? `[${this.peer.host}]:${this.peer.port}` : `${this.peer.host}:${this.peer.port}`;
  }

  /** Hands over one push; see MAX_PENDING_PUSHES for pushes that come faster than they are formatted. */
  enqueue(source: DatagramSource): void {
    if (this.state === 'closed' || this.closing) {
      this.drop(source.remaining);
      return;
    }
    this.sources.push(source);
    if (this.sources.length > MAX_PENDING_PUSHES) {
      const oldest = this.sources.shift()!;
      this.logOnce('behind', `pushes come faster than the event loop lets them be formatted; the oldest waiting push (${oldest.remaining} values) is dropped`);
      this.drop(oldest.remaining);
    }
    if (this.state === 'new') this.connect();
    this.kick();
  }

  /** Sends what is queued (for at most CLOSE_TIMEOUT_MS; not at all while the peer is unreachable), then closes. */
  close(): Promise<void> {
    if (this.closing) return this.closing.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.closing = { promise, resolve, timer: setTimeout(() => this.finishClose(), CLOSE_TIMEOUT_MS) };
    this.kick();
    this.checkClosed();
    return promise;
  }

  private connect(): void {
    this.state = 'connecting';
    const family = net.isIP(this.peer.host);
    if (family !== 0) {
      this.open(this.peer.host, family);
      return;
    }
    try {
      dns.lookup(this.peer.host, (error, address, resolvedFamily) => {
        if (this.state !== 'connecting') return;
        if (error) this.fail(error.code ?? error.message, `cannot resolve ${q(this.peer.host)}`);
        else this.open(address, resolvedFamily);
      });
    } catch (error) {
      this.fail(codeOf(error), `cannot resolve ${q(this.peer.host)}`);
    }
  }

  private open(address: string, family: number): void {
    if (this.socket && this.address === address) {
      this.startProbing();
      return;
    }
    this.closeSocket();
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    // A connected UDP socket reports ICMP errors here (ECONNREFUSED from recvmsg); never unhandled.
    socket.on('error', (error: NodeJS.ErrnoException) => this.onSocketError(socket, error));
    socket.unref();
    this.socket = socket;
    this.address = address;
    const connected = (error?: NodeJS.ErrnoException | null) => {
      if (socket !== this.socket || this.state !== 'connecting') return;
      if (error) {
        this.closeSocket();
        this.fail(error.code ?? error.message, `cannot connect a UDP socket to ${address}`);
      } else this.startProbing();
    };
    try {
      socket.connect(this.peer.port, address, connected as () => void);
    } catch (error) {
      this.closeSocket();
      this.fail(codeOf(error), `cannot connect a UDP socket to ${address}`);
    }
  }

  private startProbing(): void {
    this.state = 'probing';
    this.kick();
    this.checkClosed();
  }

  private kick(): void {
    if (this.state === 'closed') return;
    if ((this.canSend() && this.queuedDatagrams > 0) || this.canFormat()) requestSlice(this.slice);
  }

  /**
   * Whether to format more now. While the peer is reachable, a datagram is formatted just before it is
   * sent (the queue stays short, and a push's objects die young instead of being copied by the garbage
   * collector); while it is not, pushes are formatted into the queue, so that its byte cap decides what is
   * kept.
   */
  private canFormat(): boolean {
    return this.sources.length > 0 && (this.state === 'down' || this.queuedDatagrams < MAX_SENDS_PER_SLICE);
  }

  private canSend(): boolean {
    if (this.state === 'up') return this.inFlight < MAX_IN_FLIGHT;
    return this.state === 'probing' && this.probe === undefined && this.inFlight === 0;
  }

  /** This pusher's share of a turn: send what may be sent, and format more while there is time. */
  private readonly slice = (deadline: number): void => {
    try {
      this.work(deadline);
    } catch (error) {
      // A bug, not a peer problem: log it once, drop what is queued, and keep going with the next push.
      this.logOnce('bug', `internal error, the queued datagrams are dropped: ${(error as Error).stack ?? String(error)}`);
      this.drop(this.sources.reduce((sum, s) => sum + s.remaining, 0) + this.queue.reduce((sum, d) => sum + (d ? d.values : 0), 0));
      this.sources.length = 0;
      this.queue = [];
      this.head = 0;
      this.queued = 0;
    }
  };

  private work(deadline: number): void {
    if (this.state === 'closed') return;
    let sends = 0;
    for (;;) {
      if (sends < MAX_SENDS_PER_SLICE && this.queuedDatagrams > 0 && this.canSend()) {
        this.sendHead();
        sends++;
      } else if (this.canFormat()) {
        const datagram = this.sources[0].next();
        if (datagram) this.append(datagram);
        else this.sources.shift();
      } else break;
      if (performance.now() >= deadline) break;
    }
    this.kick();
    this.checkClosed();
  }

  private append(datagram: Datagram): void {
    this.queue.push(datagram);
    this.queued += datagram.bytes + DATAGRAM_OVERHEAD_BYTES;
    while (this.queued > this.maxQueueBytes && this.queuedDatagrams > 1) this.drop(this.shift().values);
  }

  private shift(): Datagram {
    const datagram = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    this.queued -= datagram.bytes + DATAGRAM_OVERHEAD_BYTES;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return datagram;
  }

  /** Puts a datagram that was not sent back at the front. */
  private requeue(datagram: Datagram): void {
    if (this.head > 0) this.queue[--this.head] = datagram;
    else this.queue.unshift(datagram);
    this.queued += datagram.bytes + DATAGRAM_OVERHEAD_BYTES;
    while (this.queued > this.maxQueueBytes && this.queuedDatagrams > 1) this.drop(this.shift().values);
  }

  private sendHead(): void {
    const datagram = this.shift();
    const socket = this.socket!;
    if (this.state === 'probing') this.probe = datagram;
    this.inFlight++;
    try {
      socket.send(datagram.payload, (error) => this.sent(socket, datagram, error as NodeJS.ErrnoException | null));
    } catch (error) {
      // Thrown before anything was sent (a closed socket, for one): the same as a failed send.
      this.sent(socket, datagram, error as NodeJS.ErrnoException);
    }
  }

  private sent(socket: dgram.Socket, datagram: Datagram, error: NodeJS.ErrnoException | null): void {
    this.inFlight--;
    if (this.state === 'closed' || socket !== this.socket) return;
    if (error) {
      const code = error.code ?? error.message;
      if (datagram === this.probe) this.probe = undefined;
      if (PEER_ERRORS.has(code)) {
        this.requeue(datagram);
        this.fail(code, 'cannot send');
      } else {
        this.drop(datagram.values);
        this.logOnce(code, `a datagram of ${datagram.bytes} bytes was refused (${code}); it is dropped`);
      }
    } else if (datagram === this.probe) {
      this.probeTimer = setTimeout(() => {
        if (this.probe !== datagram || this.state !== 'probing') return;
        this.probe = undefined;
        this.becomeUp();
      }, PROBE_CONFIRM_MS);
      this.probeTimer.unref();
    }
    this.kick();
    this.checkClosed();
  }

  private onSocketError(socket: dgram.Socket, error: NodeJS.ErrnoException): void {
    if (socket !== this.socket || this.state === 'closed') return;
    const code = error.code ?? error.message;
    if (this.state === 'probing' && this.probe) {
      // The probe went out and the peer answered "unreachable": that datagram is lost.
      clearTimeout(this.probeTimer);
      const lost = this.probe;
      this.probe = undefined;
      this.drop(lost.values);
      this.fail(code, 'cannot send');
    } else if (this.state === 'up' || this.state === 'probing') {
      this.fail(code, 'cannot send');
    }
  }

  private fail(code: string, what: string): void {
    // Several datagrams in flight may fail together: one retry, one backoff step.
    if (this.state === 'closed' || this.state === 'down') return;
    clearTimeout(this.probeTimer);
    this.state = 'down';
    if (this.reachable !== false) {
      this.reachable = false;
      this.context.log(
        `${what} to ${this.label} (${code}); keeping up to ${this.maxQueueBytes} bytes of datagrams (oldest dropped first) and retrying in ${this.backoffMs} ms, then up to every ${BACKOFF_MAX_MS / 1000} s`,
      );
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.retry(), this.backoffMs);
    this.retryTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.checkClosed();
  }

  private retry(): void {
    if (this.state !== 'down') return;
    // Resolve the hostname again: the peer may have moved. An IP address keeps its socket.
    this.connect();
  }

  private becomeUp(): void {
    this.state = 'up';
    this.backoffMs = BACKOFF_MIN_MS;
    if (this.reachable === false)
      this.context.log(`sending to ${this.label} again; ${this.droppedWhileDown} values were dropped while it was unreachable`);
    this.reachable = true;
    this.droppedWhileDown = 0;
    this.kick();
  }

  private drop(values: number): void {
    if (values <= 0) return;
    if (this.reachable === false) this.droppedWhileDown += values;
    this.context.dropped(values);
  }

  private logOnce(key: string, message: string): void {
    if (this.loggedOnce.has(key)) return;
    this.loggedOnce.add(key);
    this.context.log(message);
  }

  private checkClosed(): void {
    if (!this.closing || this.state === 'closed') return;
    if (this.idle || this.state === 'down' || this.state === 'new') this.finishClose();
  }

  private finishClose(): void {
    if (this.state === 'closed' || !this.closing) return;
    const unsent = this.sources.reduce((sum, s) => sum + s.remaining, 0) + this.queue.reduce((sum, d) => sum + (d ? d.values : 0), 0);
    if (unsent > 0) this.context.log(`closing with ${unsent} values not sent to ${this.label}; they are dropped`);
    this.drop(unsent);
    this.sources.length = 0;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.state = 'closed';
    clearTimeout(this.closing.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    this.closeSocket();
    this.closing.resolve();
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.address = undefined;
    if (!socket) return;
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  }
}
