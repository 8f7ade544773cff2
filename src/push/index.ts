/** The stats pushers (uWSGI's --stats-push): the scheduler, the spec parser and the table of pushers. */

export { DEFAULT_PUSH_FREQ_SECONDS, PushScheduler, type PushSchedulerOptions, type ScheduledSample } from './push-scheduler';
export {
  formatPushSpec,
  knownPushers,
  normalizePushSpec,
  parsePushSpec,
  passesFilters,
  type CustomPushSpec,
  type PushSpec,
  type PushSpecInput,
} from './push-spec';
export { PUSHERS, type PusherName } from './pushers';
export type { PushSample, PushSnapshot, Pusher, PusherContext, PusherFactory } from './pusher';
export { createStatsdPusher, parseStatsdArgs, StatsdPusher, STATSD_DEFAULT_PREFIX, STATSD_MAX_DATAGRAM_BYTES } from './statsd';
export { createSocketPusher, parseSocketArgs, SocketPusher, SOCKET_DEFAULT_PREFIX } from './socket';
export { createFilePusher, parseFileArgs, FilePusher, FILE_DEFAULT_PATH, FILE_DEFAULT_SEPARATOR, FILE_DEFAULT_MAX_QUEUE_BYTES } from './file';
export { DEFAULT_MAX_QUEUE_BYTES } from './udp-sender';
