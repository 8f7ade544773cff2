/**
 * The `--metric` spec: uWSGI's syntax and keys, but every input uWSGI silently misreads is an error
 * here. Pure functions; whether children and alias targets exist is checked by the region.
 */

import { MetricSpecError } from '../errors';
import { formatBuckets, parseBuckets } from '../histogram/bucket-layouts';
import { formatKeyval, KeyvalItem, parseKeyval } from './keyval';

/** Index = uWSGI's numeric type code (counter 0, gauge 1, absolute 2, alias 3); histogram (4) is ours. */
export const METRIC_TYPES = ['counter', 'gauge', 'absolute', 'alias', 'histogram'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

/** Index = the collector's code in the region (native/layout.h). `js` is only made by define() with a function. */
export const COLLECTORS = ['manual', 'ptr', 'file', 'sum', 'avg', 'accumulator', 'multiplier', 'adder', 'func', 'js'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

/** Must match native/layout.h. */
export const MAX_NAME_BYTES = 127;
export const MAX_OID_BYTES = 63;
/** Longest arg1..arg3. */
export const MAX_ARG_BYTES = 255;

export interface MetricDefinition {
  name: string;
  type: MetricType;
  oid?: string;
  collector: CollectorName;
  freq: number;
  initialValue: bigint;
  resetAfterPush: boolean;
  children: string[];
  alias?: string;
  arg1?: string;
  arg2?: string;
  arg3?: string;
  arg1n?: bigint;
  arg2n?: bigint;
  arg3n?: bigint;
  /** Histograms: the bucket upper bounds, strictly increasing integers. */
  buckets?: number[];
}

export type MetricDefinitionInput = {
  name: string;
  type?: MetricType;
  oid?: string;
  collector?: CollectorName;
  freq?: number;
  initialValue?: bigint | number;
  resetAfterPush?: boolean;
  children?: string[];
  alias?: string;
  arg1?: string;
  arg2?: string;
  arg3?: string;
  arg1n?: bigint | number;
  arg2n?: bigint | number;
  arg3n?: bigint | number;
  /** An explicit list of bounds, or a generator text ("exponential:100:2:20"). */
  buckets?: number[] | string;
};

/** Spec keys in canonical order, each with the MetricDefinitionInput property it fills. */
const PROPERTY_OF_KEY = {
  name: 'name',
  oid: 'oid',
  type: 'type',
  initial_value: 'initialValue',
  collector: 'collector',
  freq: 'freq',
  reset_after_push: 'resetAfterPush',
  children: 'children',
  alias: 'alias',
  arg1: 'arg1',
  arg2: 'arg2',
  arg3: 'arg3',
  arg1n: 'arg1n',
  arg2n: 'arg2n',
  arg3n: 'arg3n',
  buckets: 'buckets',
} as const satisfies Record<string, keyof MetricDefinitionInput>;
type SpecKey = keyof typeof PROPERTY_OF_KEY;
const KEY_OF_PROPERTY = new Map<string, SpecKey>(
  Object.entries(PROPERTY_OF_KEY).map(([key, property]) => [property, key as SpecKey]),
);

const CHILD_COLLECTORS: readonly CollectorName[] = ['sum', 'avg', 'accumulator', 'multiplier', 'adder'];
const ARG1_COLLECTORS: readonly CollectorName[] = ['file', 'func', 'ptr'];
const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_OID_ARC = 4294967295;
// uWSGI keeps freq in a uint32_t.
const MAX_FREQ_SECONDS = 4294967295;

const q = (text: string): string => JSON.stringify(text);

export function isValidMetricName(name: string): boolean {
  return nameProblem(name) === undefined;
}

function nameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (!/^[0-9A-Za-z._-]+$/.test(name)) return 'only 0-9 a-z A-Z . - _ are allowed';
  if (name.length > MAX_NAME_BYTES) return `is ${name.length} bytes, longer than ${MAX_NAME_BYTES}`;
  return undefined;
}

function childProblem(child: string, children: string): string | undefined {
  const problem = nameProblem(child);
  return problem && `child ${q(child)} in children ${q(children)}: ${problem}`;
}

/** Parses a `--metric` argument: a bare name (no unescaped `=`) or keyval items. */
export function parseMetricSpec(spec: string): MetricDefinition {
  let items: KeyvalItem[];
  try {
    items = parseKeyval(spec);
  } catch (error) {
    throw new MetricSpecError(spec, (error as Error).message);
  }
  if (items.length > 0 && items.every((item) => item.value === undefined)) {
    items = [{ key: 'name', value: spec }];
  }
  return definitionFromItems(spec, items);
}

/** The object form of a spec: same validation, same errors, the spec text being the formatted input. */
export function normalizeMetricDefinition(input: MetricDefinitionInput): MetricDefinition {
  const items: KeyvalItem[] = [];
  const fail = (detail: string, key?: string): never => {
    throw new MetricSpecError(JSON.stringify(input, (_, v) => (typeof v === 'bigint' ? v.toString() : v)), detail, key);
  };
  for (const [property, value] of Object.entries(input) as [string, unknown][]) {
    const key = KEY_OF_PROPERTY.get(property);
    if (key === undefined) fail(`unknown property ${q(property)} (value ${q(String(value))})`, property);
    else if (value !== undefined) {
      const text = propertyText(key, value, fail);
      if (text !== undefined) items.push({ key, value: text });
    }
  }
  return definitionFromItems(formatKeyval(items), items);
}

/** The spec text of one property, or undefined when it means "default". */
function propertyText(key: SpecKey, value: unknown, fail: (detail: string, key: string) => never): string | undefined {
  const property = PROPERTY_OF_KEY[key];
  switch (key) {
    case 'freq':
      if (typeof value !== 'number') fail(`${property} must be a number, not ${typeof value}`, key);
      return String(value);
    case 'initial_value':
    case 'arg1n':
    case 'arg2n':
    case 'arg3n':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value !== 'number') fail(`${property} must be a bigint or a number, not ${typeof value}`, key);
      // A number past 2^53 has already lost digits; the caller must pass a bigint.
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        fail(`${key} ${value} is not a safe integer: pass a bigint`, key);
      }
      return String(value);
    case 'reset_after_push':
      if (typeof value !== 'boolean') fail(`${property} must be a boolean, not ${typeof value}`, key);
      return value ? '1' : '0';
    case 'buckets':
      if (typeof value === 'string') return value;
      if (!Array.isArray(value) || value.some((b) => typeof b !== 'number')) fail(`${property} must be an array of numbers or a generator string`, key);
      return (value as number[]).join(';');
    case 'children': {
      if (!Array.isArray(value) || value.some((child) => typeof child !== 'string')) {
        fail(`${property} must be an array of strings`, key);
      }
      const children = value as string[];
      // Checked one by one because a name containing ';' would otherwise split into valid names.
      for (const child of children) {
        const problem = childProblem(child, children.join(';'));
        if (problem) fail(problem, key);
      }
      return children.length === 0 ? undefined : children.join(';');
    }
    default:
      if (typeof value !== 'string') fail(`${property} must be a string, not ${typeof value}`, key);
      return value as string;
  }
}

function definitionFromItems(spec: string, items: readonly KeyvalItem[]): MetricDefinition {
  const fail = (detail: string, key?: string): never => {
    throw new MetricSpecError(spec, detail, key);
  };
  const raw = new Map<SpecKey, string | undefined>();
  items.forEach(({ key, value }, index) => {
    if (key === '' && value === undefined) fail(`empty item at position ${index + 1}`);
    if (!Object.hasOwn(PROPERTY_OF_KEY, key)) {
      fail(`unknown key ${q(key)} (${value === undefined ? 'bare word' : `value ${q(value)}`})`, key);
    }
    const specKey = key as SpecKey;
    if (raw.has(specKey)) {
      const show = (v: string | undefined) => (v === undefined ? 'bare word' : q(v));
      fail(`duplicate key ${q(key)} (values ${show(raw.get(specKey))} and ${show(value)})`, key);
    }
    if (value === undefined && specKey !== 'reset_after_push') fail(`key ${q(key)} needs a value (bare word)`, key);
    if (value === '') fail(`key ${q(key)} needs a value (got "")`, key);
    raw.set(specKey, value);
  });

  const name = raw.get('name');
  if (name === undefined) return fail('missing name', 'name');
  const nameIssue = nameProblem(name);
  if (nameIssue) fail(`name ${q(name)}: ${nameIssue}`, 'name');

  const def: MetricDefinition = {
    name,
    type: 'counter',
    collector: 'manual',
    freq: 1,
    initialValue: 0n,
    resetAfterPush: false,
    children: [],
  };

  const oneOf = <T extends string>(key: SpecKey, value: string, allowed: readonly T[]): T => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    const lower = value.toLowerCase();
    const hint = (allowed as readonly string[]).includes(lower) ? ` (did you mean ${q(lower)}?)` : '';
    return fail(`${key} ${q(value)} is not one of ${allowed.join(', ')}${hint}`, key);
  };
  const int64 = (key: SpecKey, value: string): bigint => {
    if (!/^-?[0-9]+$/.test(value)) fail(`${key} ${q(value)} must be a base-10 integer`, key);
    const n = BigInt(value);
    if (n < INT64_MIN || n > INT64_MAX) fail(`${key} ${q(value)} is outside the int64 range ${INT64_MIN}..${INT64_MAX}`, key);
    return n;
  };
  const arg = (key: SpecKey, value: string): string => {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_ARG_BYTES) fail(`${key} ${q(value)} is ${bytes} bytes, longer than ${MAX_ARG_BYTES}`, key);
    // Stored as a C string in the region: a NUL would silently cut it short.
    if (value.includes('\0')) fail(`${key} ${q(value)} contains a NUL character`, key);
    return value;
  };

  for (const [key, value] of raw) {
    if (key === 'reset_after_push') {
      if (value === undefined || TRUE_WORDS.includes(value)) def.resetAfterPush = true;
      else if (!FALSE_WORDS.includes(value)) {
        fail(`reset_after_push ${q(value)} must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}`, key);
      }
      continue;
    }
    const text = value as string;
    switch (key) {
      case 'name':
        break;
      case 'oid':
        def.oid = checkOid(text, fail);
        break;
      case 'type':
        def.type = oneOf(key, text, METRIC_TYPES);
        break;
      case 'initial_value':
        def.initialValue = int64(key, text);
        break;
      case 'collector':
        def.collector = oneOf(key, text, COLLECTORS);
        if (def.collector === 'js')
          fail('collector "js" runs a JavaScript function: define it through the API, define({ name, collector: () => value })', key);
        break;
      case 'freq':
        if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > MAX_FREQ_SECONDS) {
          fail(`freq ${q(text)} must be a whole number of seconds from 1 to ${MAX_FREQ_SECONDS}`, key);
        }
        def.freq = Number(text);
        break;
      case 'children':
        def.children = text.split(';');
        for (const child of def.children) {
          const problem = childProblem(child, text);
          if (problem) fail(problem, key);
          if (child === name) fail(`child ${q(child)} in children ${q(text)} is the metric itself`, key);
        }
        break;
      case 'alias': {
        const problem = nameProblem(text);
        if (problem) fail(`alias ${q(text)}: ${problem}`, key);
        if (text === name) fail(`alias ${q(text)} is the metric itself`, key);
        def.alias = text;
        break;
      }
      case 'arg1':
      case 'arg2':
      case 'arg3':
        def[key] = arg(key, text);
        break;
      case 'arg1n':
      case 'arg2n':
      case 'arg3n':
        def[key] = int64(key, text);
        break;
      case 'buckets':
        try {
          def.buckets = parseBuckets(text);
        } catch (error) {
          fail(`buckets ${q(text)}: ${(error as Error).message}`, key);
        }
        break;
    }
  }

  if (def.type === 'histogram') {
    if (def.buckets === undefined) fail('type "histogram" needs buckets= (a list 1;5;10 or a generator such as exponential:100:2:20)', 'buckets');
    if (def.collector !== 'manual') fail(`collector ${q(def.collector)} cannot drive a histogram (record with observe())`, 'collector');
    if (def.initialValue !== 0n) fail('a histogram has no initial_value', 'initial_value');
    if (def.resetAfterPush) fail('reset_after_push is not supported for histograms', 'reset_after_push');
  } else if (def.buckets !== undefined) {
    fail(`buckets need type=histogram (type is ${q(def.type)})`, 'buckets');
  }

  if (def.type === 'alias') {
    if (def.alias === undefined) fail('type "alias" needs alias=<metric name>', 'alias');
    if (def.collector !== 'manual') {
      fail(`collector ${q(def.collector)} cannot drive type "alias" (an alias reads its target)`, 'collector');
    }
    if (def.children.length > 0) fail(`children ${q(raw.get('children')!)} cannot be used with type "alias"`, 'children');
  } else if (def.alias !== undefined) {
    fail(`alias ${q(def.alias)} needs type=alias (type is ${q(def.type)})`, 'alias');
  }
  if (def.children.length > 0 && !CHILD_COLLECTORS.includes(def.collector)) {
    fail(
      `children ${q(raw.get('children')!)} need a collector that reads children ` +
        `(${CHILD_COLLECTORS.join(', ')}), not ${q(def.collector)}`,
      'children',
    );
  }
  if (ARG1_COLLECTORS.includes(def.collector) && def.arg1 === undefined) {
    fail(`collector ${q(def.collector)} needs arg1`, 'arg1');
  }
  return def;
}

function checkOid(oid: string, fail: (detail: string, key: string) => never): string {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(oid)) fail(`oid ${q(oid)} must be dotted decimal arcs such as 1.3.6.1.4.1.35156`, 'oid');
  const big = oid.split('.').find((arc) => Number(arc) > MAX_OID_ARC);
  if (big !== undefined) fail(`oid ${q(oid)}: arc ${big} is above ${MAX_OID_ARC}`, 'oid');
  if (oid.length > MAX_OID_BYTES) fail(`oid ${q(oid)} is ${oid.length} bytes, longer than ${MAX_OID_BYTES}`, 'oid');
  return oid;
}

/** Canonical spec text: just the name when everything else is default, else keyval in key order. */
export function formatMetricSpec(def: MetricDefinition): string {
  const items: KeyvalItem[] = [];
  const add = (key: SpecKey, value: string | bigint | number | undefined, fallback?: string): void => {
    if (value !== undefined && String(value) !== fallback) items.push({ key, value: String(value) });
  };
  add('name', def.name);
  add('oid', def.oid);
  add('type', def.type, 'counter');
  add('initial_value', def.initialValue, '0');
  add('collector', def.collector, 'manual');
  add('freq', def.freq, '1');
  add('reset_after_push', def.resetAfterPush ? '1' : undefined);
  add('children', def.children.join(';'), '');
  add('alias', def.alias);
  add('arg1', def.arg1);
  add('arg2', def.arg2);
  add('arg3', def.arg3);
  add('arg1n', def.arg1n);
  add('arg2n', def.arg2n);
  add('arg3n', def.arg3n);
  add('buckets', def.buckets && formatBuckets(def.buckets));
  return items.length === 1 ? def.name : formatKeyval(items);
}
