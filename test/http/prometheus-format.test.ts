import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics, registerBuiltins } from '../../src';
import { histogramCells, mapMetricName, PrometheusExposition } from '../../src/http/prometheus-format';
import { commandExists, missingPeer } from '../helpers/peers';
import { openTempRegion, tempDir } from '../helpers/regions';

const region = (label: string): Metrics => openTempRegion(label);

/** The lines of `text` that are not HELP/TYPE comments. */
function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('Prometheus names', () => {
  it('turns dots and dashes into underscores under the shmetrics_ namespace', () => {
    expect(mapMetricName('system.load1').base).toBe('shmetrics_system_load1');
    expect(mapMetricName('my-app.queue-depth').base).toBe('shmetrics_my_app_queue_depth');
    expect(mapMetricName('worker.1.requests').base).toBe('shmetrics_worker_1_requests');
  });

  it('takes a label from a listed segment followed by digits: worker.1.requests -> shmetrics_worker_requests{worker="1"}', () => {
    const mapped = mapMetricName('worker.1.requests', { labelFrom: ['worker'] });
    expect(mapped).toEqual({ base: 'shmetrics_worker_requests', labels: [['worker', '1']], pattern: 'worker.<worker>.requests' });
    expect(mapMetricName('worker.2.core.3.requests', { labelFrom: ['worker', 'core'] }).labels).toEqual([
      ['worker', '2'],
      ['core', '3'],
    ]);
    // Not digits: an ordinary segment (core.busy_workers stays a name).
    expect(mapMetricName('core.busy_workers', { labelFrom: ['core'] })).toMatchObject({ base: 'shmetrics_core_busy_workers', labels: [] });
  });

  it('uses another namespace, or none; a name that would start with a digit gets a leading underscore', () => {
    expect(mapMetricName('a.b', { namespace: 'app' }).base).toBe('app_a_b');
    expect(mapMetricName('a.b', { namespace: '' }).base).toBe('a_b');
    expect(mapMetricName('5xx.count', { namespace: '' }).base).toBe('_5xx_count');
  });

  it('refuses a namespace or label name Prometheus would not accept, naming it', () => {
    expect(() => new PrometheusExposition({ namespace: 'my-app' })).toThrow(/namespace "my-app"/);
    expect(() => new PrometheusExposition({ labelFrom: ['le'] })).toThrow(/labelFrom "le"/);
    expect(() => new PrometheusExposition({ labelFrom: ['__x'] })).toThrow(/labelFrom "__x"/);
  });
});

describe('the text format 0.0.4', () => {
  it('writes HELP and TYPE per family, counters with _total, absolutes and gauges as gauges', () => {
    const m = region('fmt-types');
    m.counter('app.hits').inc(5);
    m.gauge('queue.depth').set(-3);
    m.absolute('batch.size').set(40);
    const text = new PrometheusExposition().render(m.snapshot(), 'text');
    expect(text).toBe(
      [
        '# HELP shmetrics_app_hits_total shmetrics app.hits (counter)',
        '# TYPE shmetrics_app_hits_total counter',
        'shmetrics_app_hits_total 5',
        '# HELP shmetrics_queue_depth shmetrics queue.depth (gauge)',
        '# TYPE shmetrics_queue_depth gauge',
        'shmetrics_queue_depth -3',
        '# HELP shmetrics_batch_size shmetrics batch.size (absolute)',
        '# TYPE shmetrics_batch_size gauge',
        'shmetrics_batch_size 40',
        '',
      ].join('\n'),
    );
  });

  it('does not double _total, and gives other types ending in a reserved suffix _value', () => {
    const m = region('fmt-total');
    m.counter('requests.total').inc(2);
    m.gauge('memory.total').set(7);
    m.gauge('jobs.count').set(1);
    const text = new PrometheusExposition().render(m.snapshot(), 'text');
    expect(samples(text)).toEqual(['shmetrics_requests_total 2', 'shmetrics_memory_total_value 7', 'shmetrics_jobs_count_value 1']);
  });

  it('prints every int64 digit exactly, from the BigInt', () => {
    const m = region('fmt-exact');
    m.define('name=big,initial_value=9223372036854775807');
    m.define('name=small,type=gauge,initial_value=-9223372036854775808');
    m.define('name=odd,initial_value=9007199254740993'); // 2^53 + 1: a Number would print ...992
    const text = new PrometheusExposition().render(m.snapshot(), 'text');
    expect(samples(text)).toEqual([
      'shmetrics_big_total 9223372036854775807',
      'shmetrics_small -9223372036854775808',
      'shmetrics_odd_total 9007199254740993',
    ]);
  });

  it('exposes an alias under its own name with its target type and value', () => {
    const m = region('fmt-alias');
    m.counter('core.total').inc(9);
    m.define('name=everything,type=alias,alias=core.total');
    m.gauge('load').set(52);
    m.define('name=load.alias,type=alias,alias=load');
    const text = new PrometheusExposition().render(m.snapshot(), 'text');
    expect(text).toContain('# TYPE shmetrics_everything_total counter\nshmetrics_everything_total 9\n');
    expect(text).toContain('# HELP shmetrics_everything_total shmetrics everything (alias of core.total, counter)');
    expect(text).toContain('# TYPE shmetrics_load_alias gauge\nshmetrics_load_alias 52\n');
  });

  it('writes a histogram as cumulative _bucket{le} series ending at +Inf, then _sum and _count', () => {
    const m = region('fmt-hist');
    const h = m.histogram('req.time', [10, 100, 1000]);
    for (const v of [5, 50, 50, 500, 5000]) h.observe(v);
    const text = new PrometheusExposition().render(m.snapshot(), 'text');
    expect(text).toBe(
      [
        '# HELP shmetrics_req_time shmetrics req.time (histogram)',
        '# TYPE shmetrics_req_time histogram',
        'shmetrics_req_time_bucket{le="10.0"} 1',
        'shmetrics_req_time_bucket{le="100.0"} 3',
        'shmetrics_req_time_bucket{le="1000.0"} 4',
        'shmetrics_req_time_bucket{le="+Inf"} 5',
        'shmetrics_req_time_sum 5605',
        'shmetrics_req_time_count 5',
        '',
      ].join('\n'),
    );
  });

  it('groups label_from metrics into one family, with the labels before le', () => {
    const m = region('fmt-labels');
    for (const id of [1, 2]) {
      m.counter(`worker.${id}.requests`).inc(id * 10);
      m.histogram(`worker.${id}.time`, [100]).observe(id * 80);
    }
    const text = new PrometheusExposition({ labelFrom: ['worker'] }).render(m.snapshot(), 'text');
    expect(text).toBe(
      [
        '# HELP shmetrics_worker_requests_total shmetrics worker.<worker>.requests (counter)',
        '# TYPE shmetrics_worker_requests_total counter',
        'shmetrics_worker_requests_total{worker="1"} 10',
        'shmetrics_worker_requests_total{worker="2"} 20',
        '# HELP shmetrics_worker_time shmetrics worker.<worker>.time (histogram)',
        '# TYPE shmetrics_worker_time histogram',
        'shmetrics_worker_time_bucket{worker="1",le="100.0"} 1',
        'shmetrics_worker_time_bucket{worker="1",le="+Inf"} 1',
        'shmetrics_worker_time_sum{worker="1"} 80',
        'shmetrics_worker_time_count{worker="1"} 1',
        'shmetrics_worker_time_bucket{worker="2",le="100.0"} 0',
        'shmetrics_worker_time_bucket{worker="2",le="+Inf"} 1',
        'shmetrics_worker_time_sum{worker="2"} 160',
        'shmetrics_worker_time_count{worker="2"} 1',
        '',
      ].join('\n'),
    );
  });

  it('leaves out, once and with the reason, a metric whose name collides with an earlier one', () => {
    const m = region('fmt-collide');
    m.gauge('a_b').set(1);
    m.gauge('a.b').set(2); // the same series
    m.counter('x').inc();
    m.gauge('x.created').set(3); // a sample name of the counter's family (OpenMetrics' x_created)
    m.counter('worker.1.n').inc();
    m.gauge('worker.2.n').set(1); // the same family, another type
    const dropped: string[] = [];
    const exposition = new PrometheusExposition({ labelFrom: ['worker'], onDropped: (name, reason) => dropped.push(`${name}: ${reason}`) });
    const first = exposition.render(m.snapshot(), 'text');
    exposition.render(m.snapshot(), 'text');
    expect(dropped).toEqual([
      'a.b: maps to the same series as a_b',
      'x.created: its gauge shmetrics_x_created would clash with shmetrics_x_created of the counter family shmetrics_x',
      'worker.2.n: maps to shmetrics_worker_n, already a counter family',
    ]);
    expect(samples(first)).toEqual(['shmetrics_a_b 1', 'shmetrics_x_total 1', 'shmetrics_worker_n_total{worker="1"} 1']);
  });

  it('reads histogram cells exactly as MetricsSnapshot.histogram() does', () => {
    const m = region('fmt-cells');
    const h = m.histogram('h', 'linear:10:10:5');
    for (let v = -5; v < 80; v += 3) h.observe(v);
    const snapshot = m.snapshot();
    const info = snapshot.metrics.find((i) => i.name === 'h')!;
    const cells = histogramCells(snapshot, info);
    const reference = snapshot.histogram(info);
    expect(cells.counts.map(Number)).toEqual(reference.counts);
    expect(Number(cells.sum)).toBe(reference.sum);
    expect(cells.bounds).toEqual(reference.bounds);
  });
});

describe('OpenMetrics 1.0', () => {
  it('names counter families without _total, keeps _total on the samples, and ends with # EOF', () => {
    const m = region('om-counter');
    m.counter('app.hits').inc(5);
    m.counter('requests.total').inc(1);
    const text = new PrometheusExposition().render(m.snapshot(), 'openmetrics');
    expect(text).toBe(
      [
        '# HELP shmetrics_app_hits shmetrics app.hits (counter)',
        '# TYPE shmetrics_app_hits counter',
        'shmetrics_app_hits_total 5',
        '# HELP shmetrics_requests shmetrics requests.total (counter)',
        '# TYPE shmetrics_requests counter',
        'shmetrics_requests_total 1',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('has the same histogram shape, and no _sum when a bound or the sum is negative (the spec forbids it)', () => {
    const m = region('om-hist');
    m.histogram('pos', [10]).observe(3);
    m.histogram('neg', [-10, 0, 10]).observe(-3);
    m.histogram('negsum', [10]).observe(-30);
    const text = new PrometheusExposition().render(m.snapshot(), 'openmetrics');
    expect(text).toContain('shmetrics_pos_bucket{le="10.0"} 1\nshmetrics_pos_bucket{le="+Inf"} 1\nshmetrics_pos_sum 3\nshmetrics_pos_count 1\n');
    expect(text).toContain('shmetrics_neg_bucket{le="+Inf"} 1\nshmetrics_neg_count 1\n');
    expect(text).not.toContain('shmetrics_neg_sum');
    expect(text).not.toContain('shmetrics_negsum_sum');
    // The text format has no such rule and keeps them.
    expect(new PrometheusExposition().render(m.snapshot(), 'text')).toContain('shmetrics_neg_sum -3\n');
  });

  it('is an empty set (# EOF alone) for an empty region', () => {
    const m = region('om-empty');
    expect(new PrometheusExposition().render(m.snapshot(), 'openmetrics')).toBe('# EOF\n');
    expect(new PrometheusExposition().render(m.snapshot(), 'text')).toBe('');
  });
});

const noPromtool = missingPeer('promtool', commandExists('promtool'), 'apt-get install prometheus');

describe.skipIf(noPromtool)('validated by Prometheus\' own tools', () => {
  /** A region like a master's: built-ins for 2 workers with traffic, plus application metrics of every type. */
  function busyRegion(): Metrics {
    const m = region('promtool');
    registerBuiltins(m, { workers: 2 });
    for (const id of [0, 1, 2]) {
      m.inc(`worker.${id}.requests`, 10 + id);
      for (let i = 0; i < 50; i++) m.observe(`worker.${id}.response_time`, 100 + i * 37);
    }
    m.counter('app.hits').inc(42);
    m.gauge('app.queue').set(-1);
    m.absolute('app.batch').set(3);
    m.histogram('app.payload_bytes', 'exponential:64:2:10').observe(1500);
    m.define('name=app.everything,type=alias,alias=app.hits');
    return m;
  }

  it('promtool check metrics accepts the text format (no parse error, no lint problem)', () => {
    const m = busyRegion();
    const text = new PrometheusExposition({ labelFrom: ['worker'] }).render(m.snapshot(), 'text');
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
    // And without label_from, with the worker number in the names.
    const plain = spawnSync('promtool', ['check', 'metrics'], { input: new PrometheusExposition().render(m.snapshot(), 'text'), encoding: 'utf8' });
    expect(plain.stdout + plain.stderr).toBe('');
    expect(plain.status).toBe(0);
  });

  it("Prometheus' OpenMetrics parser (promtool tsdb create-blocks-from openmetrics) accepts the OpenMetrics output", () => {
    const m = busyRegion();
    const text = new PrometheusExposition({ labelFrom: ['worker'] }).render(m.snapshot(), 'openmetrics');
    // Block creation needs a timestamp on every sample; a scrape does not. Nothing else is changed.
    const ts = Math.floor(Date.now() / 1000);
    const stamped = text
      .split('\n')
      .map((line) => (line === '' || line.startsWith('#') ? line : `${line} ${ts}`))
      .join('\n');
    const dir = tempDir('om-blocks');
    const input = path.join(dir, 'input.om');
    fs.writeFileSync(input, stamped);
    const result = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, path.join(dir, 'blocks')], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'blocks')).length).toBeGreaterThan(0);
  });
});
