/**
 * What an alarm plugin is (`log:`, `cmd:`), and the table of them: a new plugin is one file under
 * plugins/ and one line in ALARM_PLUGINS.
 */

import { CmdAlarmPlugin } from './plugins/cmd';
import { LogAlarmPlugin } from './plugins/log';

/** One alarm instance: the plugin bound to the alarm's name and arguments. */
export interface AlarmPlugin {
  /** Hands one message over; never throws for a failure of the delivery itself. */
  deliver(msg: string): void;
  /** Resolves once the deliveries still under way have finished. */
  close?(): Promise<void>;
}

export interface AlarmPluginContext {
  /** The alarm's name, for the plugin's own log lines. */
  name: string;
  /** Everything after `PLUGIN:` in the `--alarm` spec (may be empty). */
  args: string;
  log: (line: string) => void;
}

export interface AlarmPluginClass {
  new (context: AlarmPluginContext): AlarmPlugin;
  /** Why `args` cannot work with this plugin, or undefined; checked when the alarm spec is parsed. */
  argsProblem?(args: string): string | undefined;
}

export const ALARM_PLUGINS = {
  log: LogAlarmPlugin,
  cmd: CmdAlarmPlugin,
} as const satisfies Record<string, AlarmPluginClass>;

export type AlarmPluginName = keyof typeof ALARM_PLUGINS;
