import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pushSetup } from './helpers/region';
import { startUdpCapture, type UdpCapture } from './helpers/udp-peers';

const linesOf = (messages: string[]) => messages.flatMap((m) => m.split('\n'));

describe('histograms in the pushers', () => {
  let capture: UdpCapture;
  beforeEach(async () => (capture = await startUdpCapture()));
  afterEach(() => capture.close());

  it('reach carbon/zabbix/socket/rrdtool as derived series: .count .sum .p50 .p90 .p99 .p999 .min .max', async () => {
    const { metrics, scheduler } = pushSetup();
    const h = metrics.histogram('lat', '10;100;1000');
    for (const v of [5, 50, 50, 500]) h.observe(v);
    scheduler.add(`socket:127.0.0.1:${capture.port},shop,forbid=shmetrics.`);
    scheduler.pushNow();
    await capture.waitFor((m) => m.length >= 8);
    expect(capture.messages).toEqual([
      'shop.lat.count 0 4',
      'shop.lat.sum 0 605',
      'shop.lat.p50 1 100',
      'shop.lat.p90 1 1000',
      'shop.lat.p99 1 1000',
      'shop.lat.p999 1 1000',
      'shop.lat.min 1 0',
      'shop.lat.max 1 1000',
    ]);
  });

  it('reach statsd as timers: each bucket upper bound once per new observation, with a sample rate past 100', async () => {
    const { metrics, scheduler } = pushSetup();
    const h = metrics.histogram('lat', '10;100;1000');
    scheduler.add(`statsd:127.0.0.1:${capture.port},shop,forbid=shmetrics.`);
    h.observe(1);
    scheduler.pushNow(); // the first push records where the buckets stand
    await new Promise((r) => setTimeout(r, 100));
    expect(linesOf(capture.messages)).toEqual([]);
    for (const v of [5, 50, 50]) h.observe(v);
    for (let i = 0; i < 250; i++) h.observe(2000);
    scheduler.pushNow();
    await capture.waitFor((m) => linesOf(m).length >= 103);
    const lines = linesOf(capture.messages);
    expect(lines.filter((l) => l === 'shop.lat:10|ms')).toHaveLength(1);
    expect(lines.filter((l) => l === 'shop.lat:100|ms')).toHaveLength(2);
    expect(lines.filter((l) => l === 'shop.lat:1000|ms|@0.400000')).toHaveLength(100);
    expect(lines).toHaveLength(103);
    expect(capture.messages.every((m) => m.length <= 1432)).toBe(true);
  });
});
