/**
 * The statsd pusher: `--stats-push statsd:HOST:PORT[,prefix][,max_datagram=BYTES][,max_queue=BYTES]`.
 *
 * Sends `<prefix>.<name>:<value>|<type>` lines over UDP, several per datagram (newline-separated, each
 * datagram at most max_datagram bytes). What it fixes in uWSGI's pusher:
 * - counters go as `|c` deltas since the previous push (uWSGI sends the cumulative value as `|c`, and
 *   statsd adds those up at every flush: 300, 600, 900 become 1800);
 * - a negative gauge goes as `name:0|g` then `name:-N|g` in the same datagram (statsd reads a signed gauge
 *   as a change of the current value);
 * - aliases go as gauges (uWSGI: `|c`, with the same summing problem as counters);
 * - a histogram goes as statsd timers: for every bucket that received k observations since the previous
 *   push, min(k, 100) lines `name:<bucket upper bound>|ms`, with a sample rate `|@<lines/k>` when k > 100,
 *   so statsd's count and rate are exact and its percentiles are read from the buckets (within a bucket);
 * - many lines per datagram instead of one datagram per metric.
 */

import type { HistogramSnapshot } from '../histogram/histogram-snapshot';
import { MAX_NAME_BYTES } from '../spec/metric-spec';
import { PushSpecError } from '../errors';
import type { PushSample, PushSnapshot, Pusher, PusherContext, PusherFactory } from './pusher';
import type { ScheduledSample } from './push-scheduler';
import { parsePositiveInteger, parseUdpPusherArgs, UdpSender, type Datagram, type DatagramSource, type UdpPeer } from './udp-sender';

/** Lines per histogram bucket and push; past it a sample rate stands for the rest. */
const MAX_TIMER_LINES_PER_BUCKET = 100;

/** uWSGI's default is `uwsgi`. */
export const STATSD_DEFAULT_PREFIX = 'shmetrics';
/**
 * statsd's advice for a LAN (docs/metric_types.md): 1432 bytes of payload fit one 1500-byte Ethernet frame
 * with the IP and UDP headers, so a datagram is never fragmented (a lost fragment loses all its lines).
 */
export const STATSD_MAX_DATAGRAM_BYTES = 1432;

export interface StatsdPusherOptions {
  peer: UdpPeer;
  /** Joined to every name with a `.`; '' for none. */
  prefix: string;
  maxDatagramBytes: number;
  maxQueueBytes: number;
}

// The longest value text: -9223372036854775808.
const MAX_VALUE_CHARS = 20;

/** Parses the ARGS of `statsd:ARGS`. Throws PushSpecError naming the bad item. */
export function parseStatsdArgs(args: string): StatsdPusherOptions {
  const parsed = parseUdpPusherArgs('statsd', args, STATSD_DEFAULT_PREFIX, ['max_datagram']);
  const text = parsed.options.get('max_datagram');
  const maxDatagramBytes = text === undefined ? STATSD_MAX_DATAGRAM_BYTES : parsePositiveInteger(`statsd:${args}`, 'max_datagram', text);
  // The longest unit that cannot be split: a negative gauge's two lines for a name of the longest length.
  const key = (parsed.prefix === '' ? 0 : parsed.prefix.length + 1) + MAX_NAME_BYTES;
  const longest = key + ':0|g'.length + 1 + key + 1 + MAX_VALUE_CHARS + '|g'.length;
  if (maxDatagramBytes < longest)
    throw new PushSpecError(
      `statsd:${args}`,
      `max_datagram ${maxDatagramBytes} is too small: with this prefix a metric may need ${longest} bytes (a negative gauge's two lines, for a name of ${MAX_NAME_BYTES} bytes)`,
    );
  return { peer: parsed.peer, prefix: parsed.prefix, maxDatagramBytes, maxQueueBytes: parsed.maxQueueBytes };
}

export class StatsdPusher implements Pusher {
  readonly sender: UdpSender;
  /** Each counter's value at the previous push, for the deltas. */
  private readonly previous = new Map<string, bigint>();
  private pushedBefore = false;
  /** Each histogram's bucket counts at the previous push. */
  private readonly previousBuckets = new Map<string, readonly number[]>();
  private readonly keyPrefix: string;

  constructor(
    readonly options: StatsdPusherOptions,
    context: PusherContext,
  ) {
    this.sender = new UdpSender(options.peer, context, options.maxQueueBytes);
    this.keyPrefix = options.prefix === '' ? '' : `${options.prefix}.`;
  }

  push(snapshot: PushSnapshot): void {
    const first = !this.pushedBefore;
    this.pushedBefore = true;
    this.sender.enqueue(new StatsdDatagrams(snapshot.samples, this, first, this.options.maxDatagramBytes));
  }

  close(): Promise<void> {
    return this.sender.close();
  }

  /**
   * The text for one metric: one line, or two for a negative gauge; for a histogram, its timer lines (as
   * separate entries: they may fill several datagrams); nothing for the rest of a histogram's series.
   */
  format(sample: PushSample, firstPush: boolean): string | string[] {
    if (sample.derivedFrom !== undefined) return sample.histogram ? this.timerLines(sample.derivedFrom, sample.histogram, firstPush) : [];
    const key = this.keyPrefix + sample.name;
    if (sample.type === 'counter' || sample.type === 'histogram') return `${key}:${this.delta(sample, firstPush)}|c`;
    return sample.value < 0n ? `${key}:0|g\n${key}:${sample.value}|g` : `${key}:${sample.value}|g`;
  }

  private timerLines(name: string, histogram: HistogramSnapshot, firstPush: boolean): string[] {
    const previous = this.previousBuckets.get(name);
    this.previousBuckets.set(name, histogram.counts);
    if (!previous && firstPush) return []; // as for counters: what was counted before this pusher started is not sent
    const key = this.keyPrefix + name;
    const lines: string[] = [];
    histogram.counts.forEach((count, i) => {
      const observed = count - (previous?.[i] ?? 0);
      if (observed <= 0) return;
      const representative = histogram.bounds[Math.min(i, histogram.bounds.length - 1)];
      const sent = Math.min(observed, MAX_TIMER_LINES_PER_BUCKET);
      const line = sent === observed ? `${key}:${representative}|ms` : `${key}:${representative}|ms|@${(sent / observed).toPrecision(6)}`;
      for (let n = 0; n < sent; n++) lines.push(line);
    });
    return lines;
  }

  /**
   * What a counter counted since the previous push. The first push records where every counter stands and
   * sends 0: the region outlives the process that pushes, and a restarted master must not send the totals
   * of its previous life again. A counter that appears later counts from its initial_value. A
   * reset_after_push counter holds exactly what it counted since the last push: its value minus
   * initial_value. Differences wrap at 64 bits, like the counters themselves.
   */
  private delta(sample: PushSample, firstPush: boolean): bigint {
    const { initialValue = 0n, resetAfterPush = false } = sample as Partial<ScheduledSample>;
    if (resetAfterPush) return BigInt.asIntN(64, sample.value - initialValue);
    const previous = this.previous.get(sample.name);
    this.previous.set(sample.name, sample.value);
    if (previous !== undefined) return BigInt.asIntN(64, sample.value - previous);
    return firstPush ? 0n : BigInt.asIntN(64, sample.value - initialValue);
  }
}

/** One push's datagrams, formatted when the sender asks for the next one. */
class StatsdDatagrams implements DatagramSource {
  private index = 0;
  /** A metric's text formatted but not yet placed (it did not fit the previous datagram). */
  private carried?: string;
  /** Timer lines of a histogram, one entry each; those from pendingAt on are still to place. */
  private pending: string[] = [];
  private pendingAt = 0;

  constructor(
    private readonly samples: readonly PushSample[],
    private readonly pusher: StatsdPusher,
    private readonly firstPush: boolean,
    private readonly maxBytes: number,
  ) {}

  get remaining(): number {
    return this.samples.length - this.index + this.pending.length - this.pendingAt + (this.carried === undefined ? 0 : 1);
  }

  next(): Datagram | undefined {
    let payload = '';
    let values = 0;
    for (;;) {
      while (this.carried === undefined) {
        if (this.pendingAt < this.pending.length) {
          this.carried = this.pending[this.pendingAt++];
          break;
        }
        if (this.index >= this.samples.length) break;
        const text = this.pusher.format(this.samples[this.index++], this.firstPush);
        if (typeof text === 'string') this.carried = text;
        else {
          this.pending = text;
          this.pendingAt = 0;
        }
      }
      if (this.carried === undefined) break;
      // ASCII only (names and the prefix are checked), so length = bytes.
      const grown = values === 0 ? this.carried.length : payload.length + 1 + this.carried.length;
      if (values > 0 && grown > this.maxBytes) break;
      payload = values === 0 ? this.carried : `${payload}\n${this.carried}`;
      values++;
      this.carried = undefined;
    }
    return values === 0 ? undefined : { payload, bytes: payload.length, values };
  }
}

export const createStatsdPusher: PusherFactory = (args, context) => new StatsdPusher(parseStatsdArgs(args), context);
