/**
 * `zabbix:[HOST:PORT][,PREFIX][,key=value...]`: Zabbix's sender protocol, one `sender data` request per
 * push (`ZBXD\x01`, 4-byte little-endian length, 4 reserved bytes, JSON), the trapper's reply read and
 * its `processed`/`failed` counts logged whenever they change. Default address 127.0.0.1:10051 and host
 * = this machine's hostname, as in uWSGI; default prefix `shmetrics` (uWSGI: `uwsgi`).
 *
 * Unlike uWSGI, which fires the request and ignores the reply, a request waits in a queue capped in bytes
 * until a trapper answers it (oldest pushes dropped first, counted), so a Zabbix restart loses nothing
 * within the cap. Each value carries the snapshot's clock/ns, and the request's own clock/ns is the
 * sending time, so Zabbix stores queued values at the time they were read. Delivery is at least once: a
 * request that got no reply is sent again. Counters are sent as their cumulative value (as uWSGI does);
 * a "Change per second" preprocessing step in Zabbix makes a rate of them.
 */

import os from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Socket } from 'node:net';
import { writeFile, rename } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import type { Pusher, PusherContext, PusherFactory, PushSnapshot } from './pusher';
import {
  Backoff,
  connectTcp,
  type DeliveryOptions,
  describeError,
  formatBytes,
  keyedItems,
  parseDeliveryKeys,
  parseHostPort,
  PeerAddress,
  PeerHealth,
  pusherArgs,
} from './tcp-sender';
import { zabbixKey, zabbixTemplateInSlices } from './zabbix-template';
import { FormattingQueue, IdleWaiters } from './idle-waiters';

/**
 * Samples formatted per turn of the event loop (about a millisecond at most, even before the JIT has warmed up).
 * The first slice, too, waits for the next turn: push() itself only queues the snapshot.
 */
export const ZABBIX_SLICE_SAMPLES = 250;
export const ZABBIX_DEFAULTS = {
  host: '127.0.0.1',
  port: 10051,
  /** As the other pushers' prefix (uWSGI's default is `uwsgi`). */
  prefix: 'shmetrics',
  /** Connect timeout, reply timeout, and the time close() may take. */
  timeoutSeconds: 3,
  retryDelaySeconds: 30,
  /** What is kept while no trapper answers: 8 MiB is about 7 pushes of 10,000 metrics. */
  maxQueueBytes: 8 * 1024 * 1024,
} as const;
/** Pieces of a request (about 60 KB each) written per turn of the event loop. */
const WRITES_PER_TURN = 2;
/** A reply larger than this is not a trapper's: the connection is dropped. */
const MAX_REPLY_BYTES = 64 * 1024;
const REQUEST_HEAD = Buffer.from('{"request":"sender data","data":[');

export interface ZabbixOptions extends DeliveryOptions {
  host: string;
  port: number;
  prefix: string;
  /** The Zabbix host the values belong to. */
  hostname: string;
  /** Where to write the template of the pushed keys (rewritten when the metric set changes). */
  template?: string;
}

const KEYS = ['prefix', 'hostname', 'timeout', 'retry_delay', 'max_queue', 'template'] as const;

/** Parses the text after `zabbix:`; throws PushSpecError naming the bad value. */
export function parseZabbixArgs(args: string): ZabbixOptions {
  const { items, fail } = pusherArgs('zabbix', args);
  let host: string = ZABBIX_DEFAULTS.host;
  let port: number = ZABBIX_DEFAULTS.port;
  if (items.length > 0 && items[0].value === undefined) {
    const first = items.shift()!;
    if (first.key !== '') {
      const address = parseHostPort(first.key);
      if (typeof address === 'string') fail(address);
      ({ host, port } = address as { host: string; port: number });
    }
  }
  const values = keyedItems(
    items,
    KEYS,
    fail,
    (key) => `unknown key ${JSON.stringify(key)} (zabbix takes ${KEYS.join(', ')}; freq, allow and forbid are the scheduler's)`,
    'prefix',
  );
  const prefix = values.get('prefix') ?? ZABBIX_DEFAULTS.prefix;
  // Zabbix item keys: letters, digits, _ - . only (before any [parameters]).
  if (!/^[0-9A-Za-z_.-]*$/.test(prefix) || prefix.startsWith('.') || prefix.endsWith('.')) {
    fail(`prefix ${JSON.stringify(prefix)}: a Zabbix item key takes only 0-9 a-z A-Z _ - . (no dot at either end)`);
  }
  const hostname = values.get('hostname') ?? os.hostname();
  if (hostname === '') fail('hostname= is empty');
  const template = values.get('template');
  if (template === '') fail('template= needs a file name');
  return {
    host,
    port,
    prefix,
    hostname,
    ...parseDeliveryKeys(values, ZABBIX_DEFAULTS, fail),
    template,
  };
}

/** One push: the items of the JSON `data` array, comma-separated, in pieces. */
interface SenderRequest {
  readonly items: Buffer[];
  readonly bytes: number;
  readonly values: number;
}

/** What one exchange with the trapper gave. */
type Outcome =
  | { kind: 'reply'; response: string; info: string }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'no-reply'; reason: string };

export class ZabbixPusher implements Pusher {
  private readonly label: string;
  private readonly address: PeerAddress;
  private readonly backoff: Backoff;
  private readonly health: PeerHealth;
  private readonly queue: SenderRequest[] = [];
  private queued = 0;
  private sending = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly formatting = new FormattingQueue<PushSnapshot>(
    (snapshot) => this.format(snapshot),
    (error) => this.context.log(`${this.context.instance}: cannot format a push: ${error.message}`),
  );
  /** name → `{"host":…,"key":…,"value":"`, built once per metric. */
  private readonly heads = new Map<string, string>();
  private readonly hostJson: string;
  private lastCounts?: string;
  private lastRefusal?: string;
  /** The samples the template was last written for (compared by name and type, index by index). */
  private templateSamples: PushSnapshot['samples'] = [];
  private templateWriting: Promise<void> = Promise.resolve();
  private lastTemplateError?: string;
  private closing = false;
  private closed = false;
  private readonly idle = new IdleWaiters();

  constructor(readonly options: ZabbixOptions, private readonly context: PusherContext) {
    const hostPort = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    this.label = `${context.instance} ${hostPort}`;
    this.address = new PeerAddress(options.host);
    this.backoff = new Backoff(options.retryDelaySeconds * 1000);
    this.health = new PeerHealth({
      label: this.label,
      unit: 'values',
      maxQueueBytes: options.maxQueueBytes,
      maxRetryMs: options.retryDelaySeconds * 1000,
      log: (message) => context.log(message),
      dropped: (count) => context.dropped(count),
    });
    this.hostJson = JSON.stringify(options.hostname);
  }

  /** Bytes of pushes waiting for a trapper, not counting the one being sent (for tests and diagnostics). */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Pushes not answered yet: being formatted, queued, or being sent. */
  get pendingRequests(): number {
    return this.formatting.pending + this.queue.length + (this.sending ? 1 : 0);
  }

  push(snapshot: PushSnapshot): void {
    if (this.closed) return;
    this.formatting.add(snapshot);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.formatting.drained();
    await this.templateWriting;
    this.closing = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.pump();
    }
    const deadline = Date.now() + this.options.timeoutSeconds * 1000;
    await this.idle.wait(() => (this.queue.length === 0 && !this.sending) || (!this.sending && this.health.isDown), deadline);
    const left = this.queue.reduce((sum, request) => sum + request.values, 0);
    this.queue.length = 0;
    this.queued = 0;
    if (left > 0) {
      this.context.dropped(left);
      this.context.log(`${this.label}: closed with ${left} values not sent`);
    }
  }

  private async format(snapshot: PushSnapshot): Promise<void> {
    const tail = `","clock":${Math.floor(snapshot.takenAtMs / 1000)},"ns":${Math.floor((snapshot.takenAtMs % 1000) * 1e6)}}`;
    const samples = snapshot.samples;
    const pieces: Buffer[] = [];
    let bytes = 0;
    let text = '';
    const previous = this.templateSamples;
    let templateChanged = samples.length !== previous.length;
    for (let i = 0; i < samples.length; i++) {
      if (i % ZABBIX_SLICE_SAMPLES === 0) await nextTurn();
      const sample = samples[i];
      text += (i === 0 ? '' : ',') + this.head(sample.name) + sample.value.toString() + tail;
      if (this.options.template !== undefined && !templateChanged) {
        templateChanged = previous[i].name !== sample.name || previous[i].type !== sample.type;
      }
      if (text.length >= 60_000) {
        const piece = Buffer.from(text);
        pieces.push(piece);
        bytes += piece.length;
        text = '';
      }
    }
    if (text !== '') {
      const piece = Buffer.from(text);
      pieces.push(piece);
      bytes += piece.length;
    }
    if (this.options.template !== undefined && templateChanged) this.writeTemplate(samples);
    if (samples.length === 0) return;
    this.enqueue({ items: pieces, bytes, values: samples.length });
  }

  private head(name: string): string {
    let head = this.heads.get(name);
    if (head === undefined) {
      head = `{"host":${this.hostJson},"key":${JSON.stringify(zabbixKey(this.options.prefix, name))},"value":"`;
      this.heads.set(name, head);
    }
    return head;
  }

  private enqueue(request: SenderRequest): void {
    if (request.bytes > this.options.maxQueueBytes) {
      this.health.dropped(
        request.values,
        `a push of ${request.values} values takes ${request.bytes} bytes, ` +
          `more than max_queue (${formatBytes(this.options.maxQueueBytes)}): dropped`,
      );
      return;
    }
    this.queue.push(request);
    this.queued += request.bytes;
    this.trim();
    this.pump();
  }

  private trim(): void {
    let values = 0;
    while (this.queued > this.options.maxQueueBytes && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      this.queued -= oldest.bytes;
      values += oldest.values;
    }
    this.health.dropped(values);
  }

  private pump(): void {
    if (this.sending || this.retryTimer !== undefined || this.queue.length === 0) return;
    this.sending = true;
    // The request being sent is out of the queue: trimming cannot drop what may be delivered already.
    const request = this.queue.shift()!;
    this.queued -= request.bytes;
    void this.exchange(request).then((outcome) => this.settle(request, outcome));
  }

  private settle(request: SenderRequest, outcome: Outcome): void {
    this.sending = false;
    if (outcome.kind === 'reply') {
      // Answered: done with it, whatever the answer (sending it again would get the same one).
      this.backoff.reset();
      this.health.up();
      this.logReply(outcome.response, outcome.info, request.values);
      if (this.queue.length === 0) this.health.caughtUp();
      this.idle.notify();
      this.pump();
      return;
    }
    // Not answered: it goes back to the front and is sent again (at least once).
    this.queue.unshift(request);
    this.queued += request.bytes;
    this.trim();
    const what = outcome.kind === 'unreachable' ? 'cannot connect' : 'no reply to "sender data"';
    this.health.down(`${what} (${outcome.reason})`);
    this.idle.notify();
    if (this.closing) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.backoff.next());
    this.retryTimer.unref();
  }

  private logReply(response: string, info: string, values: number): void {
    if (response !== 'success') {
      const refusal = `${response}: ${info}`;
      if (refusal !== this.lastRefusal) this.context.log(`${this.label}: the trapper refused ${values} values: ${refusal}`);
      this.lastRefusal = refusal;
      this.lastCounts = undefined;
      return;
    }
    this.lastRefusal = undefined;
    const match = /processed:? (\d+); failed:? (\d+); total:? (\d+)/.exec(info);
    const counts = match ? `processed ${match[1]}, failed ${match[2]} of ${match[3]} values` : `reply ${JSON.stringify(info)}`;
    if (counts === this.lastCounts) return;
    this.lastCounts = counts;
    const hint =
      match && match[2] !== '0'
        ? ` (a value fails when host ${this.hostJson} has no trapper item with its key; template= writes one for every key)`
        : '';
    this.context.log(`${this.label}: host ${this.hostJson}: ${counts}${hint}`);
  }

  /** Connects, sends one request, reads the reply. Never rejects. */
  private async exchange(request: SenderRequest): Promise<Outcome> {
    let socket: Socket;
    try {
      socket = await connectTcp(this.address, this.options.port, this.options.timeoutSeconds * 1000);
    } catch (error) {
      return { kind: 'unreachable', reason: describeError(error) };
    }
    if (this.closing) socket.ref();
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      // The timeout is for a stretch without progress: connecting, each piece of the request, the reply.
      const timer = setTimeout(
        () => finish({ kind: 'no-reply', reason: `nothing within ${this.options.timeoutSeconds} s` }),
        this.options.timeoutSeconds * 1000,
      );
      timer.unref();
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const reply = parseReply(received);
        if (reply === undefined) return;
        if (typeof reply === 'string') finish({ kind: 'no-reply', reason: reply });
        else finish({ kind: 'reply', ...reply });
      });
      socket.on('error', (error) => finish({ kind: 'no-reply', reason: describeError(error) }));
      socket.on('close', () => finish({ kind: 'no-reply', reason: 'connection closed without a reply' }));

      const now = Date.now();
      const tail = Buffer.from(`],"clock":${Math.floor(now / 1000)},"ns":${(now % 1000) * 1e6}}`);
      const header = Buffer.alloc(13);
      header.write('ZBXD\x01', 0, 'latin1');
      header.writeUInt32LE(REQUEST_HEAD.length + request.bytes + tail.length, 5);
      const pieces = [Buffer.concat([header, REQUEST_HEAD]), ...request.items, tail];
      void (async () => {
        // A piece or two per turn of the event loop: a megabyte written at once costs milliseconds of copying.
        for (let i = 0; i < pieces.length && !settled; i++) {
          if (!socket.write(pieces[i])) await drainOrClose(socket);
          else if (i % WRITES_PER_TURN === WRITES_PER_TURN - 1) await nextTurn();
          timer.refresh();
        }
      })();
    });
  }

  private writeTemplate(metrics: PushSnapshot['samples']): void {
    const file = this.options.template!;
    this.templateSamples = metrics;
    this.templateWriting = this.templateWriting
      .then(async () => {
        const xml = await zabbixTemplateInSlices({ prefix: this.options.prefix, metrics });
        const temporary = `${file}.${process.pid}.tmp`;
        await writeFile(temporary, xml);
        await rename(temporary, file);
        if (this.lastTemplateError !== undefined) this.context.log(`${this.context.instance}: wrote the template ${file}`);
        this.lastTemplateError = undefined;
      })
      .catch((error: unknown) => {
        const message = describeError(error);
        if (message !== this.lastTemplateError) this.context.log(`${this.context.instance}: cannot write the template ${file}: ${message}`);
        this.lastTemplateError = message;
      });
  }

}

/** Resolves at the socket's next 'drain' or 'close', whichever comes first. */
function drainOrClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/**
 * A trapper's reply from the bytes received so far: undefined while incomplete, a problem string when it
 * is no Zabbix reply, else its `response` and `info`.
 */
export function parseReply(data: Buffer): { response: string; info: string } | string | undefined {
  if (data.length < 5) return 'ZBXD'.startsWith(data.toString('latin1')) ? undefined : 'the reply has no ZBXD header';
  if (data.toString('latin1', 0, 4) !== 'ZBXD') return 'the reply has no ZBXD header';
  const flags = data[4];
  const large = (flags & 0x04) !== 0;
  const headerBytes = large ? 21 : 13;
  if (data.length < headerBytes) return undefined;
  const length = large ? Number(data.readBigUInt64LE(5)) : data.readUInt32LE(5);
  if (length > MAX_REPLY_BYTES) return `a reply of ${length} bytes is no trapper's`;
  if (data.length < headerBytes + length) return undefined;
  let body = data.subarray(headerBytes, headerBytes + length);
  try {
    if ((flags & 0x02) !== 0) body = inflateSync(body, { maxOutputLength: MAX_REPLY_BYTES });
    const json = JSON.parse(body.toString('utf8')) as { response?: unknown; info?: unknown };
    if (typeof json.response !== 'string') return `a reply without "response": ${body.toString('utf8').slice(0, 200)}`;
    return { response: json.response, info: typeof json.info === 'string' ? json.info : '' };
  } catch (error) {
    return `an unreadable reply (${describeError(error)})`;
  }
}

export const createZabbixPusher: PusherFactory = (args, context) => new ZabbixPusher(parseZabbixArgs(args), context);
