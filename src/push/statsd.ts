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
 * - a histogram goes as the count of its observations, a counter (`|c`, delta);
 * - many lines per datagram instead of one datagram per metric.
 */

import { MAX_NAME_BYTES } from '../spec/metric-spec';
import { PushSpecError } from '../errors';
import type { PushSample, PushSnapshot, Pusher, PusherContext, PusherFactory } from './pusher';
import type { ScheduledSample } from './push-scheduler';
import { parsePositiveInteger, parseUdpPusherArgs, UdpSender, type Datagram, type DatagramSource, type UdpPeer } from './udp-sender';

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

  /** The text for one metric: one line, or two for a negative gauge. */
  format(sample: PushSample, firstPush: boolean): string {
    const key = this.keyPrefix + sample.name;
    if (sample.type === 'counter' || sample.type === 'histogram') return `${key}:${this.delta(sample, firstPush)}|c`;
    return sample.value < 0n ? `${key}:0|g\n${key}:${sample.value}|g` : `${key}:${sample.value}|g`;
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

  constructor(
    private readonly samples: readonly PushSample[],
    private readonly pusher: StatsdPusher,
    private readonly firstPush: boolean,
    private readonly maxBytes: number,
  ) {}

  get remaining(): number {
    return this.samples.length - this.index + (this.carried === undefined ? 0 : 1);
  }

  next(): Datagram | undefined {
    let payload = '';
    let values = 0;
    for (;;) {
      if (this.carried === undefined) {
        if (this.index >= this.samples.length) break;
        this.carried = this.pusher.format(this.samples[this.index++], this.firstPush);
      }
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
