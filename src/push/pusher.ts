import type { HistogramSnapshot } from '../histogram/histogram-snapshot';
import type { MetricType } from '../spec/metric-spec';

/**
 * One metric's value in a push snapshot. A histogram `h` arrives as its derived series (README
 * "Histograms"): `h.count` and `h.sum` (counters), `h.p50` ... `h.max` (gauges), each with `derivedFrom`
 * set to `h`; the `h.count` sample also carries the whole `histogram`, for pushers that send buckets.
 */
export interface PushSample {
  readonly name: string;
  readonly type: MetricType;
  readonly oid?: string;
  readonly value: bigint;
  readonly derivedFrom?: string;
  readonly histogram?: HistogramSnapshot;
}

/** The values of every metric a pusher may send, read once per push cycle and shared by its pushers. */
export interface PushSnapshot {
  /** Unix milliseconds when the values were read. */
  readonly takenAtMs: number;
  /** In registration order; already filtered by the pusher's allow/forbid prefixes. */
  readonly samples: readonly PushSample[];
}

/** What a pusher gets from the scheduler that runs it. */
export interface PusherContext {
  /** This instance's name, e.g. "statsd" or "statsd.2" when there are several. */
  readonly instance: string;
  /** A message for the log; pushers log once per change of state (down, up again), never per push. */
  log(message: string): void;
  /** Counts data a pusher had to drop (peer down past its buffer cap) into shmetrics.push.<name>.dropped. */
  dropped(count: number): void;
}

/**
 * A stats pusher (uWSGI's --stats-push NAME:ARGS). One file per pusher under src/push/, registered by one
 * line in the PUSHERS table. A pusher never throws from push() and never blocks the event loop: it queues
 * or sends asynchronously, with a documented cap on what it keeps while its peer is unreachable.
 */
export interface Pusher {
  push(snapshot: PushSnapshot): void;
  /** Sends what is still queued (bounded in time) and releases the sockets. */
  close(): Promise<void>;
}

/**
 * Builds a pusher from the text after `NAME:` in `--stats-push NAME:ARGS`, with the scheduler's generic
 * keys (freq, allow, forbid) already taken out; throws PushSpecError naming the bad value.
 */
export type PusherFactory = (args: string, context: PusherContext) => Pusher;
