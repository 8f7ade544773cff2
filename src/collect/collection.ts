import { AlarmDispatcher } from '../alarms/alarm-dispatcher';
import { ThresholdSpecError } from '../errors';
import type { NativeCollectorEvent, NativeRegion } from '../native';
import { formatThresholdSpec, type ThresholdDefinition } from '../spec/threshold-spec';

/** A threshold that fired: what the API's 'alarm' event carries. */
export interface AlarmEvent {
  /** The alarm it was routed to, when the threshold names one. */
  alarm?: string;
  metric: string;
  value: bigint;
  threshold: bigint;
  msg: string;
}

export interface CollectionListener {
  collecting(tookOver: boolean): void;
  log(message: string): void;
  alarm(event: AlarmEvent): void;
}

export interface ThresholdTarget {
  slot: number;
  valueIndex: number;
}

/**
 * This process's part in collecting a region: the native collector thread (as the owner, or as a
 * standby waiting to take over), its thresholds, and the alarms they fire.
 */
export class Collection {
  private readonly alarms: AlarmDispatcher;
  private readonly thresholds: (ThresholdDefinition & ThresholdTarget)[] = [];

  constructor(
    private readonly native: NativeRegion,
    private readonly listener: CollectionListener,
    options: { alarmFreqSeconds?: number },
  ) {
    this.alarms = new AlarmDispatcher({ alarmFreqSeconds: options.alarmFreqSeconds, log: (line) => listener.log(line) });
  }

  /** Owner: collects from now on, or throws when another process does. Standby: waits in the background. */
  start(standby: boolean): void {
    this.native.startCollector({ standby }, (event) => this.onEvent(event));
  }

  addAlarm(spec: string): void {
    this.alarms.add(spec);
  }

  addThreshold(def: ThresholdDefinition, target: ThresholdTarget): void {
    if (def.alarm !== undefined && !this.alarms.has(def.alarm)) {
      const known = this.alarms.names();
      throw new ThresholdSpecError(
        formatThresholdSpec(def),
        `alarm "${def.alarm}" is not defined (${known.length ? `defined: ${known.join(', ')}` : 'define it first with --alarm "NAME PLUGIN:ARGS"'})`,
        'alarm',
      );
    }
    this.thresholds.push({ ...def, ...target });
    this.native.setThresholds(
      this.thresholds.map((t) => ({
        slot: t.slot,
        valueIndex: t.valueIndex,
        metric: t.key,
        value: t.value,
        reset: t.reset,
        rateMs: t.rate * 1000,
        alarm: t.alarm ?? '',
        msg: t.msg ?? '',
      })),
    );
  }

  async stop(): Promise<void> {
    this.native.stopCollector();
    await this.alarms.close();
  }

  private onEvent(event: NativeCollectorEvent): void {
    switch (event.type) {
      case 'collecting':
        this.listener.collecting(event.tookOver);
        break;
      case 'log':
        this.listener.log(event.message);
        break;
      case 'alarm': {
        const alarm: AlarmEvent = { metric: event.metric, value: event.value, threshold: event.threshold, msg: event.msg };
        if (event.alarm) {
          alarm.alarm = event.alarm;
          this.alarms.deliver(event.alarm, event.msg);
        }
        this.listener.alarm(alarm);
        break;
      }
    }
  }
}
