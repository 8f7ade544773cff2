/**
 * `log:[PREFIX]`: one log line per message, `ALARM: <msg>` or `ALARM: <PREFIX> <msg>`. uWSGI puts a date
 * in front; here the `log` function given to the dispatcher does whatever timestamping it wants.
 */

import type { AlarmPlugin, AlarmPluginContext } from '../alarm-plugin';

export class LogAlarmPlugin implements AlarmPlugin {
  constructor(private readonly context: AlarmPluginContext) {}

  deliver(msg: string): void {
    // uWSGI ends the line itself unless the message already does; `log` ends it, so drop that newline.
    const text = msg.endsWith('\n') ? msg.slice(0, -1) : msg;
    const { args, log } = this.context;
    log(args === '' ? `ALARM: ${text}` : `ALARM: ${args} ${text}`);
  }
}
