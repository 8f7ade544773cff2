/**
 * The `--metric-threshold` spec (uWSGI aliases: `--metric-alarm`, `--alarm-metric`): uWSGI's keys and
 * keyval syntax, but every input uWSGI silently ignores or misreads is an error here. Pure functions;
 * whether the metric and the alarm exist is checked by the caller.
 *
 * The threshold is crossed when the metric's current value >= `value` (inclusive, as in uWSGI); the
 * evaluator, not this parser, enforces that.
 */

import { isValidAlarmName } from '../alarms/alarm-spec';
import { ThresholdSpecError } from '../errors';
import { formatKeyval, KeyvalItem, parseKeyval } from './keyval';
import { isValidMetricName, MAX_NAME_BYTES } from './metric-spec';

export interface ThresholdDefinition {
  /** The metric watched. */
  key: string;
  /** Crossed when the metric is >= this. */
  value: bigint;
  /** The alarm triggered on crossing; none = the threshold only resets. */
  alarm?: string;
  /** Seconds between two triggers of the alarm; 0 = every evaluation (the alarm's anti-loop still applies). */
  rate: number;
  /** The value the metric is set to on crossing; none = left alone. */
  reset?: bigint;
  /** The alarm message; none = the metric name (uWSGI's default). */
  msg?: string;
}

export type ThresholdDefinitionInput = {
  key: string;
  value: bigint | number;
  alarm?: string;
  rate?: number;
  reset?: bigint | number;
  msg?: string;
};

/** Spec keys in canonical order; each is also the ThresholdDefinition property it fills. */
const KEYS = ['key', 'value', 'alarm', 'rate', 'reset', 'msg'] as const;
type SpecKey = (typeof KEYS)[number];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// uWSGI keeps rate in an int32_t.
const MAX_RATE_SECONDS = 2147483647;

const q = (text: string): string => JSON.stringify(text);
const isSpecKey = (key: string): key is SpecKey => (KEYS as readonly string[]).includes(key);

/** Parses a `--metric-threshold` argument: keyval items, `key` and `value` required. */
export function parseThresholdSpec(spec: string): ThresholdDefinition {
  let items: KeyvalItem[];
  try {
    items = parseKeyval(spec);
  } catch (error) {
    throw new ThresholdSpecError(spec, (error as Error).message);
  }
  return definitionFromItems(spec, items);
}

/** The object form of a spec: same validation, same errors, the spec text being the formatted input. */
export function normalizeThresholdDefinition(input: ThresholdDefinitionInput): ThresholdDefinition {
  const fail = (detail: string, key: string): never => {
    throw new ThresholdSpecError(JSON.stringify(input, (_, v) => (typeof v === 'bigint' ? v.toString() : v)), detail, key);
  };
  const items: KeyvalItem[] = [];
  for (const [property, value] of Object.entries(input) as [string, unknown][]) {
    if (!isSpecKey(property)) fail(`unknown property ${q(property)} (value ${q(String(value))})`, property);
    else if (value !== undefined) items.push({ key: property, value: propertyText(property, value, fail) });
  }
  return definitionFromItems(formatKeyval(items), items);
}

function propertyText(key: SpecKey, value: unknown, fail: (detail: string, key: string) => never): string {
  switch (key) {
    case 'value':
    case 'reset':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value !== 'number') return fail(`${key} must be a bigint or a number, not ${typeof value}`, key);
      // A number past 2^53 has already lost digits; the caller must pass a bigint.
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) fail(`${key} ${value} is not a safe integer: pass a bigint`, key);
      return String(value);
    case 'rate':
      if (typeof value !== 'number') return fail(`rate must be a number, not ${typeof value}`, key);
      return String(value);
    default:
      if (typeof value !== 'string') return fail(`${key} must be a string, not ${typeof value}`, key);
      return value;
  }
}

function definitionFromItems(spec: string, items: readonly KeyvalItem[]): ThresholdDefinition {
  const fail = (detail: string, key?: string): never => {
    throw new ThresholdSpecError(spec, detail, key);
  };
  const raw = new Map<SpecKey, string>();
  items.forEach(({ key, value }, index) => {
    if (key === '' && value === undefined) fail(`empty item at position ${index + 1}`);
    if (!isSpecKey(key)) {
      return fail(`unknown key ${q(key)} (${value === undefined ? 'bare word' : `value ${q(value)}`}); known keys: ${KEYS.join(', ')}`, key);
    }
    if (value === undefined) return fail(`key ${q(key)} needs a value (bare word)`, key);
    if (raw.has(key)) fail(`duplicate key ${q(key)} (values ${q(raw.get(key)!)} and ${q(value)})`, key);
    if (value === '') fail(`key ${q(key)} needs a value (got "")`, key);
    raw.set(key, value);
  });

  const key = raw.get('key');
  const value = raw.get('value');
  if (key === undefined || value === undefined) {
    const missing = [key === undefined && 'key', value === undefined && 'value'].filter(Boolean).join(' and ');
    return fail(`missing ${missing} (a threshold requires key=<metric name> and value=<int64>)`, key === undefined ? 'key' : 'value');
  }
  if (!isValidMetricName(key)) {
    fail(`key ${q(key)} is not a valid metric name (only 0-9 a-z A-Z . - _, at most ${MAX_NAME_BYTES} bytes)`, 'key');
  }

  const int64 = (name: SpecKey, text: string): bigint => {
    if (!/^-?[0-9]+$/.test(text)) fail(`${name} ${q(text)} must be a base-10 integer`, name);
    const n = BigInt(text);
    if (n < INT64_MIN || n > INT64_MAX) fail(`${name} ${q(text)} is outside the int64 range ${INT64_MIN}..${INT64_MAX}`, name);
    return n;
  };

  const def: ThresholdDefinition = { key, value: int64('value', value), rate: 0 };
  const alarm = raw.get('alarm');
  if (alarm !== undefined) {
    if (!isValidAlarmName(alarm)) fail(`alarm ${q(alarm)} is not a valid alarm name (only letters, digits, _ - .)`, 'alarm');
    def.alarm = alarm;
  }
  const rate = raw.get('rate');
  if (rate !== undefined) {
    if (!/^[0-9]+$/.test(rate) || Number(rate) > MAX_RATE_SECONDS) {
      fail(`rate ${q(rate)} must be a whole number of seconds from 0 to ${MAX_RATE_SECONDS}`, 'rate');
    }
    def.rate = Number(rate);
  }
  const reset = raw.get('reset');
  if (reset !== undefined) def.reset = int64('reset', reset);
  const msg = raw.get('msg');
  if (msg !== undefined) def.msg = msg;
  return def;
}

/** Canonical spec text: keys in canonical order, rate only when not 0. */
export function formatThresholdSpec(def: ThresholdDefinition): string {
  const items: KeyvalItem[] = [];
  for (const key of KEYS) {
    const value = def[key];
    if (value !== undefined && !(key === 'rate' && value === 0)) items.push({ key, value: String(value) });
  }
  return formatKeyval(items);
}
