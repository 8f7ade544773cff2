/** A region and a scheduler for a pusher test, with the scheduler's log lines collected. */

import { afterEach } from 'vitest';
import { Metrics } from '../../../src/metrics';
import { PushScheduler, type PushSchedulerOptions } from '../../../src/push';
import { tempRegionPath } from '../../helpers/regions';

const open: { metrics: Metrics; scheduler: PushScheduler }[] = [];

export interface PushSetup {
  metrics: Metrics;
  scheduler: PushScheduler;
  /** Every line the scheduler and its pushers logged. */
  logs: string[];
}

export function pushSetup(options: PushSchedulerOptions & { capacity?: number; valueCapacity?: number } = {}): PushSetup {
  const { capacity = 256, valueCapacity, ...schedulerOptions } = options;
  const metrics = Metrics.open({ path: tempRegionPath('push'), capacity, valueCapacity });
  const logs: string[] = [];
  const scheduler = new PushScheduler(metrics, { log: (line) => logs.push(line), ...schedulerOptions });
  open.push({ metrics, scheduler });
  return { metrics, scheduler, logs };
}

afterEach(async () => {
  for (const { metrics, scheduler } of open.splice(0)) {
    await scheduler.close();
    metrics.close();
  }
});

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
