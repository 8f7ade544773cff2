/**
 * The socket pusher: `--stats-push socket:HOST:PORT[,prefix][,max_queue=BYTES]`.
 *
 * uWSGI's format, unchanged: one UDP datagram per metric, `<prefix>.<name> <type code> <value>` (codes:
 * counter 0, gauge 1, absolute 2, alias 3; the value signed, in decimal; no newline). What differs: the
 * default prefix (`shmetrics`, uWSGI's is `uwsgi`), IPv6 peers (`[::1]:PORT`), and the machinery every UDP
 * pusher shares (bounded queue while the peer is unreachable, no DNS lookup per send).
 */

import { METRIC_TYPES } from '../spec/metric-spec';
import type { PushSample, PushSnapshot, Pusher, PusherContext, PusherFactory } from './pusher';
import { parseUdpPusherArgs, UdpSender, type Datagram, type DatagramSource, type UdpPeer } from './udp-sender';

export const SOCKET_DEFAULT_PREFIX = 'shmetrics';

export interface SocketPusherOptions {
  peer: UdpPeer;
  /** Joined to every name with a `.`; '' for none. */
  prefix: string;
  maxQueueBytes: number;
}

/** Parses the ARGS of `socket:ARGS`. Throws PushSpecError naming the bad item. */
export function parseSocketArgs(args: string): SocketPusherOptions {
  const { peer, prefix, maxQueueBytes } = parseUdpPusherArgs('socket', args, SOCKET_DEFAULT_PREFIX, []);
  return { peer, prefix, maxQueueBytes };
}

export class SocketPusher implements Pusher {
  readonly sender: UdpSender;
  private readonly keyPrefix: string;

  constructor(
    readonly options: SocketPusherOptions,
    context: PusherContext,
  ) {
    this.sender = new UdpSender(options.peer, context, options.maxQueueBytes);
    this.keyPrefix = options.prefix === '' ? '' : `${options.prefix}.`;
  }

  push(snapshot: PushSnapshot): void {
    this.sender.enqueue(new SocketDatagrams(snapshot.samples, this.keyPrefix));
  }

  close(): Promise<void> {
    return this.sender.close();
  }
}

class SocketDatagrams implements DatagramSource {
  private index = 0;

  constructor(
    private readonly samples: readonly PushSample[],
    private readonly keyPrefix: string,
  ) {}

  get remaining(): number {
    return this.samples.length - this.index;
  }

  next(): Datagram | undefined {
    if (this.index >= this.samples.length) return undefined;
    const sample = this.samples[this.index++];
    const payload = `${this.keyPrefix}${sample.name} ${METRIC_TYPES.indexOf(sample.type)} ${sample.value}`;
    return { payload, bytes: payload.length, values: 1 };
  }
}

export const createSocketPusher: PusherFactory = (args, context) => new SocketPusher(parseSocketArgs(args), context);
