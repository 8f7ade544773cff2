/**
 * Every stats pusher by its `--stats-push` name. A pusher is one file under src/push/ exporting a
 * PusherFactory; adding one is that file and one line here.
 *
 * A factory only parses its ARGS (throwing PushSpecError for bad ones) and builds the pusher: it does no
 * I/O, so that adding a spec is also how a bad one is reported before anything starts.
 */

import { createCarbonPusher } from './carbon';
import { createFilePusher } from './file';
import type { PusherFactory } from './pusher';
import { createRrdtoolPusher } from './rrdtool';
import { createSocketPusher } from './socket';
import { createStatsdPusher } from './statsd';
import { createZabbixPusher } from './zabbix';

export const PUSHERS = {
  statsd: createStatsdPusher,
  socket: createSocketPusher,
  file: createFilePusher,
  carbon: createCarbonPusher,
  zabbix: createZabbixPusher,
  rrdtool: createRrdtoolPusher,
} satisfies Record<string, PusherFactory>;

export type PusherName = keyof typeof PUSHERS;
