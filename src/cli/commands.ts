/**
 * The CLI's commands, one table entry each. main.ts checks the arity and the options before `run`, so a
 * command only does its work. Every command reads and writes through the public Metrics API.
 */

import type { Metrics } from '../metrics';
import { formatMetricSpec } from '../spec/metric-spec';
import { parseInt64, type OptionSpec } from './args';
import { formatMetricsJson, formatMetricTable, formatRegionInfo } from './format';

export interface CommandContext {
  /** The region of --region / $SHMETRICS_REGION, opened (never created) on first call. */
  metrics(): Metrics;
  /** Options given on the command line, by long name (only those this command declares, or global ones). */
  has(option: string): boolean;
  print(line: string): void;
  printUsage(): void;
}

export interface Command {
  readonly name: string;
  /** Positional parameters as the usage shows them: `NAME` is required, `[DELTA]` optional. */
  readonly params: readonly string[];
  /** Options this command takes besides the global ones. */
  readonly options?: readonly OptionSpec[];
  readonly summary: string;
  run(args: readonly string[], context: CommandContext): void;
}

export const JSON_OPTION: OptionSpec = {
  name: 'json',
  help:
    'ls: print one JSON document {"region", "metrics": [{"name", "type", "oid", "collector", "value"}]};\n' +
    'a value is a JSON number when it is a safe integer (|v| <= 2^53-1), else a decimal string',
};

export const COMMANDS: readonly Command[] = [
  {
    name: 'get',
    params: ['NAME'],
    summary: 'print the value of metric NAME (exact decimal)',
    run([name], context) {
      context.print(context.metrics().getBigInt(name).toString());
    },
  },
  {
    name: 'set',
    params: ['NAME', 'VALUE'],
    summary: 'set NAME to VALUE (a base-10 int64); prints nothing',
    run([name, value], context) {
      context.metrics().set(name, parseInt64(value, 'set: VALUE'));
    },
  },
  {
    name: 'inc',
    params: ['NAME', '[DELTA]'],
    summary: 'add DELTA (a base-10 int64, default 1) to NAME; prints nothing',
    run([name, delta = '1'], context) {
      context.metrics().inc(name, parseInt64(delta, 'inc: DELTA'));
    },
  },
  {
    name: 'dec',
    params: ['NAME', '[DELTA]'],
    summary: 'subtract DELTA (a base-10 int64, default 1) from NAME; prints nothing',
    run([name, delta = '1'], context) {
      context.metrics().dec(name, parseInt64(delta, 'dec: DELTA'));
    },
  },
  {
    name: 'define',
    params: ['SPEC'],
    summary: 'define a metric (uWSGI --metric syntax) and print its canonical spec',
    run([spec], context) {
      const metrics = context.metrics();
      const { name } = metrics.define(spec);
      // Print what the region holds, which is what any later definition must agree with.
      const info = metrics.list().find((m) => m.name === name)!;
      context.print(formatMetricSpec(info));
    },
  },
  {
    name: 'ls',
    params: ['[PREFIX]'],
    options: [JSON_OPTION],
    summary: 'list the metrics (whose name starts with PREFIX): name, type, value, oid, collector',
    run([prefix = ''], context) {
      const metrics = context.metrics();
      const snapshot = metrics.snapshot();
      if (context.has('json')) context.print(formatMetricsJson(metrics.path, snapshot, prefix));
      else for (const line of formatMetricTable(snapshot, prefix)) context.print(line);
    },
  },
  {
    name: 'info',
    params: [],
    summary: "print the region's path, layout version, capacities, usage, lanes and lock repairs",
    run(_, context) {
      const metrics = context.metrics();
      for (const line of formatRegionInfo(metrics.info(), metrics.list().length)) context.print(line);
    },
  },
  {
    name: 'help',
    params: [],
    summary: 'print this help',
    run(_, context) {
      context.printUsage();
    },
  },
];

