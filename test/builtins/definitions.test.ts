import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricConflictError, Metrics } from '../../src';
import {
  builtinDefinitions,
  MEMINFO_PATH,
  MEMINFO_TOKENS,
  registerBuiltins,
  STAT_PATH,
  STAT_TOKENS,
  WORKER_METRIC_NAMES,
  workerDefinitions,
} from '../../src/builtins';
import type { MetricDefinitionInput } from '../../src/spec/metric-spec';
import { tempRegionPath } from '../helpers/regions';

const tokens = (text: string): string[] => text.split(/[ \t\r\n\0]+/).filter((token) => token !== '');
const byName = (definitions: MetricDefinitionInput[]) => new Map(definitions.map((d) => [d.name, d]));

describe('builtinDefinitions', () => {
  it.each([0, 1, 2, 16])('names every metric once and gives every OID to one metric only (%i workers)', (workers) => {
    const definitions = builtinDefinitions(workers);
    const names = definitions.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    const oids = definitions.flatMap((d) => (d.oid === undefined ? [] : [d.oid]));
    expect(new Set(oids).size).toBe(oids.length);
    // 15 per worker and the master, 7 core, 2 aliases, 8 system
    expect(definitions).toHaveLength(16 * (workers + 1) + 7 + 2 + 8);
    expect(oids).toHaveLength(definitions.length - 2);
  });

  it('follows uWSGI for names, types and OIDs, but gives running_time 3.N.15 instead of a second 3.N.13', () => {
    const defs = byName(builtinDefinitions(2));
    const expected: [string, string, string][] = [
      ['worker.2.requests', 'counter', '3.2.1'],
      ['worker.2.delta_requests', 'absolute', '3.2.2'],
      ['worker.2.avg_response_time', 'gauge', '3.2.8'],
      ['worker.2.total_tx', 'counter', '3.2.9'],
      ['worker.2.rss_size', 'gauge', '3.2.11'],
      ['worker.2.vsz_size', 'gauge', '3.2.12'],
      ['worker.2.failed_requests', 'counter', '3.2.13'],
      ['worker.2.respawns', 'counter', '3.2.14'],
      ['worker.2.running_time', 'counter', '3.2.15'],
      ['worker.2.heap_used', 'gauge', '3.2.16'],
      ['worker.2.heap_total', 'gauge', '3.2.17'],
      ['worker.2.event_loop_lag', 'gauge', '3.2.18'],
      ['worker.2.gc_time', 'counter', '3.2.19'],
      ['worker.2.active_handles', 'gauge', '3.2.20'],
      ['worker.2.busy', 'gauge', '3.2.21'],
      ['worker.0.requests', 'counter', '3.0.1'],
      ['core.busy_workers', 'gauge', '5.3'],
      ['core.idle_workers', 'gauge', '5.4'],
      ['core.total_tx', 'counter', '5.100'],
      ['core.total_rss', 'gauge', '5.101'],
      ['core.total_vsz', 'gauge', '5.102'],
      ['core.avg_response_time', 'gauge', '5.103'],
      ['core.total_running_time', 'counter', '5.104'],
      ['system.load1', 'gauge', '10.1'],
      ['system.load5', 'gauge', '10.2'],
      ['system.load15', 'gauge', '10.3'],
      ['system.memory.total', 'gauge', '10.4'],
      ['system.memory.free', 'gauge', '10.5'],
      ['system.memory.available', 'gauge', '10.6'],
      ['system.cpu.user', 'counter', '10.7'],
      ['system.cpu.system', 'counter', '10.8'],
    ];
    for (const [name, type, oid] of expected) expect({ name, ...defs.get(name) }).toMatchObject({ name, type, oid });
    expect(defs.get('rss_size')).toEqual({ name: 'rss_size', type: 'alias', alias: 'core.total_rss' });
    expect(defs.get('vsz_size')).toEqual({ name: 'vsz_size', type: 'alias', alias: 'core.total_vsz' });
  });

  it('aggregates workers 1..N into core.*, never the master (worker 0)', () => {
    const defs = byName(builtinDefinitions(3));
    expect(defs.get('core.total_tx')).toMatchObject({ collector: 'sum', children: ['worker.1.total_tx', 'worker.2.total_tx', 'worker.3.total_tx'] });
    expect(defs.get('core.busy_workers')).toMatchObject({ collector: 'sum', children: ['worker.1.busy', 'worker.2.busy', 'worker.3.busy'] });
    expect(defs.get('core.avg_response_time')).toMatchObject({ collector: 'avg' });
    expect(defs.get('core.idle_workers')).toMatchObject({
      collector: 'multiplier', children: ['core.busy_workers'], arg1n: -1, initialValue: 3,
    });
  });

  it('registers every child and alias target before the metric that reads it', () => {
    const seen = new Set<string>();
    for (const definition of builtinDefinitions(4)) {
      for (const child of definition.children ?? []) expect(seen, `${definition.name} reads ${child}`).toContain(child);
      if (definition.alias !== undefined) expect(seen, `${definition.name} aliases ${definition.alias}`).toContain(definition.alias);
      seen.add(definition.name);
    }
  });

  it('points every system file collector at a readable file holding a number at its token', () => {
    const files = builtinDefinitions(1).filter((d) => d.collector === 'file');
    expect(files.map((d) => d.name)).toEqual([
      'system.load1', 'system.load5', 'system.load15',
      'system.memory.total', 'system.memory.free', 'system.memory.available',
      'system.cpu.user', 'system.cpu.system',
    ]);
    for (const definition of files) {
      const text = fs.readFileSync(definition.arg1!, 'utf8');
      const token = tokens(text)[Number(definition.arg1n ?? 0)];
      expect(token, `${definition.name}: ${definition.arg1} token ${definition.arg1n}`).toMatch(/^[0-9]+(\.[0-9]+)?$/);
    }
  });

  it('reads MemTotal, MemFree and MemAvailable in kB and the user and system times of the cpu line', () => {
    const meminfo = tokens(fs.readFileSync(MEMINFO_PATH, 'utf8'));
    expect([meminfo[MEMINFO_TOKENS.total - 1], meminfo[MEMINFO_TOKENS.total + 1]]).toEqual(['MemTotal:', 'kB']);
    expect([meminfo[MEMINFO_TOKENS.free - 1], meminfo[MEMINFO_TOKENS.free + 1]]).toEqual(['MemFree:', 'kB']);
    expect([meminfo[MEMINFO_TOKENS.available - 1], meminfo[MEMINFO_TOKENS.available + 1]]).toEqual(['MemAvailable:', 'kB']);
    const defs = byName(builtinDefinitions(1));
    for (const name of ['system.memory.total', 'system.memory.free', 'system.memory.available']) expect(defs.get(name)!.arg2n).toBe(1024);
    const stat = tokens(fs.readFileSync(STAT_PATH, 'utf8'));
    expect(stat[0]).toBe('cpu');
    expect(defs.get('system.cpu.user')).toMatchObject({ arg1n: STAT_TOKENS.user });
    expect(defs.get('system.cpu.system')).toMatchObject({ arg1n: STAT_TOKENS.system });
    expect(STAT_TOKENS).toEqual({ user: 1, system: 3 }); // cpu user nice system idle ...
  });

  it('lists the same per-worker metrics for the master and every worker', () => {
    expect(workerDefinitions(0).map((d) => d.name)).toEqual(WORKER_METRIC_NAMES.map((n) => `worker.0.${n}`));
    expect(workerDefinitions(7).map((d) => d.oid)).toEqual(workerDefinitions(0).map((d) => d.oid!.replace(/^3\.0\./, '3.7.')));
  });

  it('rejects a worker count that is not a non-negative integer', () => {
    expect(() => builtinDefinitions(-1)).toThrow(RangeError);
    expect(() => builtinDefinitions(1.5)).toThrow(/workers must be an integer/);
    expect(() => builtinDefinitions(Number.NaN)).toThrow(RangeError);
    expect(() => builtinDefinitions('2' as unknown as number)).toThrow(TypeError);
  });
});

describe('registerBuiltins', () => {
  let m: Metrics | undefined;
  afterEach(() => m?.close());

  it('defines every built-in in order, and a second call with the same worker count changes nothing', () => {
    m = Metrics.open({ path: tempRegionPath('builtins-defs') });
    registerBuiltins(m, { workers: 2 });
    const names = m.list().map((info) => info.name);
    expect(names).toEqual(builtinDefinitions(2).map((d) => d.name));
    const oids = m.list().map((info) => info.oid);
    registerBuiltins(m, { workers: 2 });
    expect(m.list().map((info) => info.name)).toEqual(names);
    expect(m.list().map((info) => info.oid)).toEqual(oids);
    expect(m.list().find((info) => info.name === 'core.idle_workers')).toMatchObject({ initialValue: 2n, arg1n: -1n });
  });

  it('refuses another worker count without defining anything', () => {
    m = Metrics.open({ path: tempRegionPath('builtins-count') });
    registerBuiltins(m, { workers: 2 });
    const count = m.list().length;
    expect(() => registerBuiltins(m!, { workers: 3 })).toThrow(MetricConflictError);
    expect(() => registerBuiltins(m!, { workers: 3 })).toThrow(/registered for 2 workers, not 3/);
    expect(m.list()).toHaveLength(count);
    expect(m.has('worker.3.requests')).toBe(false);
  });

  it('rejects bad arguments before touching the region', () => {
    m = Metrics.open({ path: tempRegionPath('builtins-args') });
    expect(() => registerBuiltins(m!, { workers: -2 })).toThrow(RangeError);
    expect(() => registerBuiltins({} as Metrics, { workers: 1 })).toThrow(TypeError);
    expect(() => registerBuiltins(m!, undefined as unknown as { workers: number })).toThrow(TypeError);
    expect(m.list()).toHaveLength(0);
  });
});
