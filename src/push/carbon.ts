/**
 * `carbon:HOST:PORT[,ROOT][,key=value...]`: Graphite's plaintext protocol over one persistent TCP
 * connection, one line per metric, `<root>.<hostname>.<id>.<metric> <value> <unix seconds>\n`.
 *
 * uWSGI (plugins/carbon) opens a connection per push, prints negative values as unsigned 64-bit numbers and
 * keeps the `:` of its default id in the path; here values are signed, and every character of root,
 * hostname and id other than letters, digits, `.`, `_` and `-` becomes `_`. Counters are sent as their
 * current (cumulative) value, as uWSGI does: Graphite's derivative()/perSecond() make rates of them.
 */

import os from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Pusher, PusherContext, PusherFactory, PushSample, PushSnapshot } from './pusher';
import { type DeliveryOptions, keyedItems, parseDeliveryKeys, parseHostPort, pieceBytesFor, pusherArgs, TcpLineSender } from './tcp-sender';
import { FormattingQueue } from './idle-waiters';

/**
 * Samples formatted per turn of the event loop (about a millisecond at most, even before the JIT has warmed up).
 * The first slice, too, waits for the next turn: push() itself only queues the snapshot.
 */
export const CARBON_SLICE_SAMPLES = 500;
export const CARBON_DEFAULTS = {
  /** As the statsd and socket pushers' prefix (uWSGI's --carbon-root default is `uwsgi`). */
  root: 'shmetrics',
  /** uWSGI's --carbon-timeout: connect timeout, and the time close() may take. */
  timeoutSeconds: 3,
  /** The longest wait between reconnection attempts. */
  retryDelaySeconds: 30,
  /** What is kept while carbon is unreachable: 8 MiB is about 13 pushes of 10,000 metrics. */
  maxQueueBytes: 8 * 1024 * 1024,
} as const;
/** A connection whose pending data carbon has not taken for this many timeouts is made again. */
const STALL_TIMEOUTS = 10;

export interface CarbonOptions extends DeliveryOptions {
  host: string;
  port: number;
  root: string;
  hostname: string;
  /** Empty: no id level in the path. */
  id: string;
}

const KEYS = ['root', 'id', 'hostname', 'hostname_dots', 'timeout', 'retry_delay', 'max_queue'] as const;

/** Parses the text after `carbon:`; throws PushSpecError naming the bad value. */
export function parseCarbonArgs(args: string): CarbonOptions {
  const { items, fail } = pusherArgs('carbon', args);
  if (items.length === 0 || items[0].value !== undefined || items[0].key === '') {
    fail('carbon needs the address of carbon\'s line receiver first: carbon:HOST:PORT[,ROOT]');
  }
  const address = parseHostPort(items[0].key);
  if (typeof address === 'string') fail(address);
  const { host, port } = address as { host: string; port: number };
  const values = keyedItems(
    items.slice(1),
    KEYS,
    fail,
    (key) => `unknown key ${JSON.stringify(key)} (carbon takes ${KEYS.join(', ')}; freq, allow and forbid are the scheduler's)`,
    'root',
  );

  const dots = values.get('hostname_dots');
  if (dots !== undefined && !/^[A-Za-z0-9_-]$/.test(dots)) {
    fail(`hostname_dots=${JSON.stringify(dots)} must be one letter, digit, "_" or "-"`);
  }
  let hostname = sanitize(values.get('hostname') ?? os.hostname());
  if (dots !== undefined) hostname = hostname.replace(/\./g, dots);
  return {
    host,
    port,
    root: sanitize(values.get('root') ?? CARBON_DEFAULTS.root),
    hostname,
    id: sanitize(values.get('id') ?? ''),
    ...parseDeliveryKeys(values, CARBON_DEFAULTS, fail),
  };
}

/** A path component: unsafe characters become `_`, and no empty levels at either end. */
function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+|\.+$/g, '');
}

export class CarbonPusher implements Pusher {
  /** `<root>.<hostname>.<id>.`, the part of every path before the metric name. */
  readonly base: string;
  private readonly sender: TcpLineSender;
  /** name → `<base><name> `: built once per metric, not once per push. */
  private readonly prefixes = new Map<string, string>();
  private readonly formatting = new FormattingQueue<PushSnapshot>(
    (snapshot) => this.format(snapshot),
    (error) => this.context.log(`${this.context.instance}: cannot format a push: ${error.message}`),
  );
  private readonly pieceBytes: number;
  private closed = false;

  constructor(readonly options: CarbonOptions, private readonly context: PusherContext) {
    this.pieceBytes = pieceBytesFor(options.maxQueueBytes);
    this.base = [options.root, options.hostname, options.id].filter((part) => part !== '').map((part) => `${part}.`).join('');
    const hostPort = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    this.sender = new TcpLineSender({
      label: `${context.instance} ${hostPort}`,
      unit: 'lines',
      host: options.host,
      port: options.port,
      connectTimeoutMs: options.timeoutSeconds * 1000,
      stallTimeoutMs: options.timeoutSeconds * 1000 * STALL_TIMEOUTS,
      maxRetryMs: options.retryDelaySeconds * 1000,
      maxQueueBytes: options.maxQueueBytes,
      log: (message) => context.log(message),
      dropped: (count) => context.dropped(count),
    });
  }

  /** Bytes waiting for carbon (for tests and diagnostics). */
  get queuedBytes(): number {
    return this.sender.queuedBytes;
  }

  get isConnected(): boolean {
    return this.sender.isConnected;
  }

  push(snapshot: PushSnapshot): void {
    if (this.closed) return;
    this.formatting.add(snapshot); // formatted in slices on later turns, one snapshot after the other
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.formatting.drained();
    await this.sender.close(this.options.timeoutSeconds * 1000);
  }

  private async format(snapshot: PushSnapshot): Promise<void> {
    const suffix = ` ${Math.floor(snapshot.takenAtMs / 1000)}\n`;
    const samples = snapshot.samples;
    let text = '';
    let lines = 0;
    for (let i = 0; i < samples.length; i++) {
      if (i % CARBON_SLICE_SAMPLES === 0) await nextTurn();
      text += this.prefix(samples[i]) + samples[i].value.toString() + suffix;
      lines++;
      if (text.length >= this.pieceBytes) {
        this.sender.enqueue({ data: Buffer.from(text), lines });
        text = '';
        lines = 0;
      }
    }
    if (lines > 0) this.sender.enqueue({ data: Buffer.from(text), lines });
  }

  private prefix(sample: PushSample): string {
    let prefix = this.prefixes.get(sample.name);
    if (prefix === undefined) {
      prefix = `${this.base}${sample.name} `;
      this.prefixes.set(sample.name, prefix);
    }
    return prefix;
  }
}

export const createCarbonPusher: PusherFactory = (args, context) => new CarbonPusher(parseCarbonArgs(args), context);
