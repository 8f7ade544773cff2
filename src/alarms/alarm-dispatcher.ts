/**
 * The alarms of one process by name, and uWSGI's anti-loop in front of them: an alarm drops a message
 * identical to the one it delivered less than `alarmFreqSeconds` ago, so a threshold crossed on every
 * tick raises its alarm once per period, not once per tick.
 */

import { AlarmSpecError } from '../errors';
import { ALARM_PLUGINS, AlarmPlugin } from './alarm-plugin';
import { AlarmDefinition, formatAlarmSpec, normalizeAlarmDefinition, parseAlarmSpec } from './alarm-spec';

export interface AlarmDispatcherOptions {
  /** uWSGI's `--alarm-freq`; 0 turns the anti-loop off. Default 3. */
  alarmFreqSeconds?: number;
  /** Receives one line (no newline) per log message of an alarm, and the output of `cmd:` commands. */
  log: (line: string) => void;
  /** Milliseconds; Date.now by default. */
  now?: () => number;
}

interface Alarm {
  plugin: AlarmPlugin;
  lastMsg?: string;
  lastDeliveredAt: number;
}

export class AlarmDispatcher {
  private readonly alarms = new Map<string, Alarm>();
  private readonly freqMs: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;

  constructor(options: AlarmDispatcherOptions) {
    const { alarmFreqSeconds = 3, log, now = Date.now } = options;
    if (typeof alarmFreqSeconds !== 'number' || !(alarmFreqSeconds >= 0) || !Number.isFinite(alarmFreqSeconds)) {
      throw new RangeError(`alarmFreqSeconds must be a finite number >= 0, not ${String(alarmFreqSeconds)}`);
    }
    if (typeof log !== 'function') throw new TypeError('log must be a function');
    this.freqMs = alarmFreqSeconds * 1000;
    this.log = log;
    this.now = now;
  }

  /** Defines an alarm from an `--alarm "NAME PLUGIN:ARGS"` spec or its object form. */
  add(spec: string | AlarmDefinition): void {
    const def = typeof spec === 'string' ? parseAlarmSpec(spec) : normalizeAlarmDefinition(spec);
    if (this.alarms.has(def.name)) {
      throw new AlarmSpecError(typeof spec === 'string' ? spec : formatAlarmSpec(def), `alarm ${JSON.stringify(def.name)} is already defined`, 'name');
    }
    const plugin = new ALARM_PLUGINS[def.plugin]({ name: def.name, args: def.args, log: this.log });
    this.alarms.set(def.name, { plugin, lastDeliveredAt: -Infinity });
  }

  has(name: string): boolean {
    return this.alarms.has(name);
  }

  /** Alarm names in definition order. */
  names(): string[] {
    return [...this.alarms.keys()];
  }

  /**
   * Hands `msg` to the alarm, unless it repeats the alarm's previous message within alarmFreqSeconds.
   * Returns whether it was handed over. Throws RangeError for an alarm never added: thresholds name
   * only alarms checked when they were defined.
   */
  deliver(alarm: string, msg: string): boolean {
    const target = this.alarms.get(alarm);
    if (target === undefined) {
      throw new RangeError(`unknown alarm ${JSON.stringify(alarm)} (defined: ${this.names().join(', ') || 'none'})`);
    }
    const now = this.now();
    if (msg === target.lastMsg && now - target.lastDeliveredAt < this.freqMs) return false;
    target.lastMsg = msg;
    target.lastDeliveredAt = now;
    target.plugin.deliver(msg);
    return true;
  }

  /** Resolves once every command still running for an alarm has ended. */
  async close(): Promise<void> {
    await Promise.all([...this.alarms.values()].map(({ plugin }) => plugin.close?.()));
  }
}
