import { describe, expect, it } from 'vitest';
import { ThresholdSpecError } from '../../src/errors';
import { MAX_NAME_BYTES } from '../../src/spec/metric-spec';
import {
  formatThresholdSpec,
  normalizeThresholdDefinition,
  parseThresholdSpec,
  ThresholdDefinition,
  ThresholdDefinitionInput,
} from '../../src/spec/threshold-spec';

const INT64_MIN = '-9223372036854775808';
const INT64_MAX = '9223372036854775807';

/** A threshold on `key` at `value`, with `fields` changed. */
function def(key: string, value: bigint, fields: Partial<ThresholdDefinition> = {}): ThresholdDefinition {
  return { key, value, rate: 0, ...fields };
}

/** The ThresholdSpecError `run` throws; fails the test if it throws nothing or something else. */
function specError(run: () => unknown): ThresholdSpecError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ThresholdSpecError);
    return error as ThresholdSpecError;
  }
  throw new Error('expected a ThresholdSpecError, nothing was thrown');
}

describe('parseThresholdSpec accepts', () => {
  it.each<[string, string, ThresholdDefinition]>([
    ['key and value alone, rate 0', 'key=t1,value=5', def('t1', 5n)],
    ['the fact sheet t1: an alarm', 'key=t1,value=5,alarm=logit', def('t1', 5n, { alarm: 'logit' })],
    [
      'the fact sheet t2: an escaped comma in msg, and a rate',
      'key=t2,value=10,alarm=cmdit,msg=t2 is too high\\, really,rate=4',
      def('t2', 10n, { alarm: 'cmdit', msg: 't2 is too high, really', rate: 4 }),
    ],
    ['the fact sheet t3: a reset to 0 without an alarm', 'key=t3,value=3,reset=0', def('t3', 3n, { reset: 0n })],
    ['the fact sheet t4: a reset and an alarm', 'key=t4,value=3,reset=1,alarm=logpfx', def('t4', 3n, { reset: 1n, alarm: 'logpfx' })],
    ['an alarm not defined anywhere (the caller checks that)', 'key=t5,value=1,alarm=nonexistent_alarm', def('t5', 1n, { alarm: 'nonexistent_alarm' })],
    ['a metric not defined anywhere (the caller checks that)', 'key=nope,value=1', def('nope', 1n)],
    ['a dotted built-in metric name', 'key=worker.1.requests,value=1000', def('worker.1.requests', 1000n)],
    ['a negative value', 'key=x,value=-7', def('x', -7n)],
    ['the int64 limits for value and reset', `key=x,value=${INT64_MIN},reset=${INT64_MAX}`, def('x', BigInt(INT64_MIN), { reset: BigInt(INT64_MAX) })],
    ['an explicit rate=0', 'key=x,value=1,rate=0', def('x', 1n)],
    ['the largest rate (int32)', 'key=x,value=1,rate=2147483647', def('x', 1n, { rate: 2147483647 })],
    ['keys in any order', 'msg=hi,rate=2,value=1,key=x', def('x', 1n, { msg: 'hi', rate: 2 })],
    ['"=" inside msg', 'key=x,value=1,msg=x=1', def('x', 1n, { msg: 'x=1' })],
    ['spaces and non-ASCII in msg, kept exactly', 'key=x,value=1,msg= caf\u00e9 \u2603 ', def('x', 1n, { msg: ' caf\u00e9 \u2603 ' })],
    ['an alarm name with . - _', 'key=x,value=1,alarm=a.b-c_D9', def('x', 1n, { alarm: 'a.b-c_D9' })],
    ['a key of MAX_NAME_BYTES', `key=${'k'.repeat(MAX_NAME_BYTES)},value=1`, def('k'.repeat(MAX_NAME_BYTES), 1n)],
  ])('%s', (_behaviour, spec, expected) => {
    expect(parseThresholdSpec(spec)).toStrictEqual(expected);
  });
});

/** The threshold rows of the fact sheet's "Bad input" table: what uWSGI 2.0.21 did, and what we do. */
describe('uWSGI bad input', () => {
  it('rejects a missing value, naming it (uWSGI: "metric\'s threshold requires a key and a value")', () => {
    const error = specError(() => parseThresholdSpec('key=x'));
    expect(error.key).toBe('value');
    expect(error.message).toContain('"key=x"');
    expect(error.message).toContain('missing value');
  });

  it('rejects an unknown key (uWSGI ignored it)', () => {
    const error = specError(() => parseThresholdSpec('key=x,value=1,alarms=a'));
    expect(error.key).toBe('alarms');
    expect(error.message).toContain('unknown key "alarms" (value "a")');
  });
});

describe('parseThresholdSpec rejects', () => {
  it.each<[string, string, string | undefined, string[]]>([
    ['the empty spec, naming both missing keys', '', 'key', ['missing key and value']],
    ['a missing key', 'value=1', 'key', ['missing key', '"value=1"']],
    ['a missing value', 'key=x,alarm=a', 'value', ['missing value']],
    ['a bare metric name (no simple syntax for thresholds)', 'myname', 'myname', ['unknown key "myname" (bare word)']],
    ['a known key as a bare word', 'key=x,value=1,reset', 'reset', ['key "reset" needs a value (bare word)']],
    ['an unknown key, listing the known ones', 'key=x,value=1,level=9', 'level', ['unknown key "level" (value "9")', 'key, value, alarm, rate, reset, msg']],
    ['a key that is only an inherited Object property', 'key=x,value=1,constructor=1', 'constructor', ['unknown key "constructor"']],
    ['a duplicate key, naming both values', 'key=x,value=1,value=2', 'value', ['duplicate key "value"', '"1"', '"2"']],
    ['a duplicate msg', 'key=x,value=1,msg=a,msg=b', 'msg', ['duplicate key "msg"', '"a" and "b"']],
    ['an empty item', 'key=x,,value=1', undefined, ['empty item at position 2']],
    ['a trailing lone backslash', 'key=x,value=1,msg=a\\', undefined, ['trailing backslash']],
    ['an empty key', 'key=,value=1', 'key', ['key "key" needs a value (got "")']],
    ['a key that is not a metric name', 'key=a/b,value=1', 'key', ['key "a/b" is not a valid metric name']],
    ['a key with a space', 'key=a b,value=1', 'key', ['key "a b"']],
    ['a key longer than MAX_NAME_BYTES', `key=${'k'.repeat(MAX_NAME_BYTES + 1)},value=1`, 'key', [`key "${'k'.repeat(MAX_NAME_BYTES + 1)}"`]],
    ['an empty value', 'key=x,value=', 'value', ['key "value" needs a value (got "")']],
    ['value=12abc (uWSGI strtoll read 12)', 'key=x,value=12abc', 'value', ['value "12abc" must be a base-10 integer']],
    ['a fractional value', 'key=x,value=1.5', 'value', ['value "1.5"']],
    ['a hexadecimal value', 'key=x,value=0x10', 'value', ['value "0x10"']],
    ['a value with a plus sign', 'key=x,value=+5', 'value', ['value "+5"']],
    ['a value one above int64', 'key=x,value=9223372036854775808', 'value', ['value "9223372036854775808"', 'outside the int64 range']],
    ['a value one below int64', 'key=x,value=-9223372036854775809', 'value', ['value "-9223372036854775809"', 'outside the int64 range']],
    ['a non-numeric reset', 'key=x,value=1,reset=zero', 'reset', ['reset "zero" must be a base-10 integer']],
    ['a reset above int64', 'key=x,value=1,reset=9223372036854775808', 'reset', ['reset "9223372036854775808"', 'outside the int64 range']],
    ['an empty reset', 'key=x,value=1,reset=', 'reset', ['key "reset" needs a value (got "")']],
    ['a negative rate', 'key=x,value=1,rate=-1', 'rate', ['rate "-1" must be a whole number of seconds']],
    ['a fractional rate', 'key=x,value=1,rate=1.5', 'rate', ['rate "1.5"']],
    ['a rate with a unit', 'key=x,value=1,rate=5s', 'rate', ['rate "5s"']],
    ['a rate above int32', 'key=x,value=1,rate=2147483648', 'rate', ['rate "2147483648"', 'from 0 to 2147483647']],
    ['an empty alarm name', 'key=x,value=1,alarm=', 'alarm', ['key "alarm" needs a value (got "")']],
    ['an alarm name no alarm can have', 'key=x,value=1,alarm=a b', 'alarm', ['alarm "a b" is not a valid alarm name']],
    ['an empty msg', 'key=x,value=1,msg=', 'msg', ['key "msg" needs a value (got "")']],
  ])('%s', (_behaviour, spec, key, parts) => {
    const error = specError(() => parseThresholdSpec(spec));
    expect(error.spec).toBe(spec);
    expect(error.key).toBe(key);
    expect(error.message).toContain(JSON.stringify(spec));
    for (const part of parts) expect(error.message).toContain(part);
  });
});

describe('formatThresholdSpec', () => {
  it.each<[string, string, string]>([
    ['orders keys canonically', 'msg=m,reset=0,rate=2,alarm=a,value=1,key=x', 'key=x,value=1,alarm=a,rate=2,reset=0,msg=m'],
    ['drops rate=0', 'key=x,value=1,rate=0', 'key=x,value=1'],
    ['escapes commas, "=" and backslashes in msg', 'key=x,value=1,msg=a\\,b=c\\\\d', 'key=x,value=1,msg=a\\,b\\=c\\\\d'],
    ['normalizes leading zeros', 'key=x,value=-007,rate=030', 'key=x,value=-7,rate=30'],
  ])('%s', (_behaviour, spec, canonical) => {
    expect(formatThresholdSpec(parseThresholdSpec(spec))).toBe(canonical);
  });

  const accepted = [
    'key=t1,value=5,alarm=logit',
    'key=t2,value=10,alarm=cmdit,msg=t2 is too high\\, really,rate=4',
    'key=t3,value=3,reset=0',
    `key=x,value=${INT64_MIN},reset=${INT64_MAX},rate=2147483647`,
    'key=x,value=0,msg=\\\\ k\\=v \u00e9',
  ];

  it.each(accepted)('round-trips %j through format and parse', (spec) => {
    const parsed = parseThresholdSpec(spec);
    expect(parseThresholdSpec(formatThresholdSpec(parsed))).toStrictEqual(parsed);
  });

  it.each(accepted)('gives normalizeThresholdDefinition of the parse of %j the same definition', (spec) => {
    const parsed = parseThresholdSpec(spec);
    expect(normalizeThresholdDefinition(parsed)).toStrictEqual(parsed);
  });
});

describe('normalizeThresholdDefinition', () => {
  it.each<[string, ThresholdDefinitionInput, ThresholdDefinition]>([
    ['fills rate 0', { key: 'x', value: 5 }, def('x', 5n)],
    ['turns number values into bigints', { key: 'x', value: -3, reset: 0 }, def('x', -3n, { reset: 0n })],
    ['keeps bigint values', { key: 'x', value: 2n ** 62n }, def('x', 2n ** 62n)],
    ['keeps commas and "=" in msg literally', { key: 'x', value: 1, msg: 'a,b=c\\' }, def('x', 1n, { msg: 'a,b=c\\' })],
    ['ignores properties set to undefined', { key: 'x', value: 1, alarm: undefined }, def('x', 1n)],
  ])('%s', (_behaviour, input, expected) => {
    expect(normalizeThresholdDefinition(input)).toStrictEqual(expected);
  });

  it.each<[string, ThresholdDefinitionInput]>([
    ['key=a/b,value=1', { key: 'a/b', value: 1 }],
    ['key=,value=1', { key: '', value: 1 }],
    ['key=x,value=1.5', { key: 'x', value: 1.5 }],
    ['key=x,value=9223372036854775808', { key: 'x', value: 2n ** 63n }],
    ['key=x,value=1,rate=-1', { key: 'x', value: 1, rate: -1 }],
    ['key=x,value=1,rate=0.5', { key: 'x', value: 1, rate: 0.5 }],
    ['key=x,value=1,alarm=', { key: 'x', value: 1, alarm: '' }],
    ['key=x,value=1,msg=', { key: 'x', value: 1, msg: '' }],
  ])('rejects the object form of %j with the error parseThresholdSpec gives', (spec, input) => {
    const fromObject = specError(() => normalizeThresholdDefinition(input));
    const fromText = specError(() => parseThresholdSpec(spec));
    expect(fromObject.detail).toBe(fromText.detail);
    expect(fromObject.key).toBe(fromText.key);
  });

  it.each<[string, Record<string, unknown>, string, string[]]>([
    ['an unknown property', { key: 'x', value: 1, message: 'hi' }, 'message', ['unknown property "message" (value "hi")']],
    ['a key that is not a string', { key: 5, value: 1 }, 'key', ['key must be a string, not number']],
    ['a missing value', { key: 'x' }, 'value', ['missing value']],
    ['a value number beyond 2^53', { key: 'x', value: 2 ** 60 }, 'value', ['value 1152921504606847000', 'pass a bigint']],
    ['a value given as a string', { key: 'x', value: '5' }, 'value', ['value must be a bigint or a number, not string']],
    ['a rate given as a string', { key: 'x', value: 1, rate: '5' }, 'rate', ['rate must be a number, not string']],
  ])('rejects %s', (_behaviour, input, key, parts) => {
    const error = specError(() => normalizeThresholdDefinition(input as ThresholdDefinitionInput));
    expect(error.key).toBe(key);
    for (const part of parts) expect(error.message).toContain(part);
  });
});
