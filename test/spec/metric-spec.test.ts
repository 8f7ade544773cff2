import { describe, expect, it } from 'vitest';
import { MetricSpecError } from '../../src/errors';
import {
  COLLECTORS,
  formatMetricSpec,
  isValidMetricName,
  MAX_ARG_BYTES,
  MAX_NAME_BYTES,
  MAX_OID_BYTES,
  METRIC_TYPES,
  MetricDefinition,
  MetricDefinitionInput,
  normalizeMetricDefinition,
  parseMetricSpec,
} from '../../src/spec/metric-spec';

const INT64_MIN = '-9223372036854775808';
const INT64_MAX = '9223372036854775807';
/** Exactly MAX_OID_BYTES long, ending in the largest arc. */
const LONGEST_OID = `11.${'1.'.repeat(25)}4294967295`;

/** A manual counter named `name`, with `fields` changed. */
function def(name: string, fields: Partial<MetricDefinition> = {}): MetricDefinition {
  return { name, type: 'counter', collector: 'manual', freq: 1, initialValue: 0n, resetAfterPush: false, children: [], ...fields };
}

/** The MetricSpecError `run` throws; fails the test if it throws nothing or something else. */
function specError(run: () => unknown): MetricSpecError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MetricSpecError);
    return error as MetricSpecError;
  }
  throw new Error('expected a MetricSpecError, nothing was thrown');
}

describe('metric types', () => {
  it.each([
    ['counter', 0],
    ['gauge', 1],
    ['absolute', 2],
    ['alias', 3],
  ] as const)('gives %s the uWSGI type code %i', (type, code) => {
    expect(METRIC_TYPES.indexOf(type)).toBe(code);
  });
});

describe('parseMetricSpec accepts', () => {
  it.each<[string, string, MetricDefinition]>([
    ['a whole string without "=" as the name of a manual counter', 'foobar', def('foobar')],
    ['a dotted simple name', 'worker.1.requests', def('worker.1.requests')],
    ['every allowed name character', 'name=aZ09.-_', def('aZ09.-_')],
    ['oid', 'name=x,oid=1.3.6.1.4.1.35156.17.3.100', def('x', { oid: '1.3.6.1.4.1.35156.17.3.100' })],
    ['a single-arc oid', 'name=x,oid=7', def('x', { oid: '7' })],
    ['type=counter', 'name=x,type=counter', def('x')],
    ['type=gauge', 'name=x,type=gauge', def('x', { type: 'gauge' })],
    ['type=absolute', 'name=x,type=absolute', def('x', { type: 'absolute' })],
    ['type=alias with alias=', 'name=x,type=alias,alias=y', def('x', { type: 'alias', alias: 'y' })],
    ['an alias to a metric not defined yet (the region checks that)', 'name=x,type=alias,alias=nope', def('x', { type: 'alias', alias: 'nope' })],
    ['initial_value', 'name=x,initial_value=42', def('x', { initialValue: 42n })],
    ['a negative initial_value', 'name=x,initial_value=-7', def('x', { initialValue: -7n })],
    ['the smallest int64 initial_value', `name=x,initial_value=${INT64_MIN}`, def('x', { initialValue: BigInt(INT64_MIN) })],
    ['the largest int64 initial_value', `name=x,initial_value=${INT64_MAX}`, def('x', { initialValue: BigInt(INT64_MAX) })],
    ['collector=manual as no collector', 'name=x,collector=manual', def('x')],
    ['collector=file with arg1 and arg1n', 'name=load,collector=file,arg1=/proc/loadavg,arg1n=1', def('load', { collector: 'file', arg1: '/proc/loadavg', arg1n: 1n })],
    ['collector=func with arg1', 'name=x,collector=func,arg1=my_collector', def('x', { collector: 'func', arg1: 'my_collector' })],
    ['collector=ptr with arg1', 'name=x,collector=ptr,arg1=requests', def('x', { collector: 'ptr', arg1: 'requests' })],
    ['collector=sum with ;-separated children', 'name=s,collector=sum,children=a;b;c', def('s', { collector: 'sum', children: ['a', 'b', 'c'] })],
    ['collector=avg', 'name=s,collector=avg,children=a', def('s', { collector: 'avg', children: ['a'] })],
    ['collector=accumulator', 'name=s,collector=accumulator,children=a', def('s', { collector: 'accumulator', children: ['a'] })],
    ['collector=multiplier with arg1n', 'name=s,collector=multiplier,children=a,arg1n=3', def('s', { collector: 'multiplier', children: ['a'], arg1n: 3n })],
    ['collector=adder with a negative arg1n', 'name=s,collector=adder,children=a,arg1n=-100', def('s', { collector: 'adder', children: ['a'], arg1n: -100n })],
    ['an aggregate collector without children', 'name=s,collector=sum', def('s', { collector: 'sum' })],
    ['children not defined yet (the region checks that)', 'name=s,collector=sum,children=nope', def('s', { collector: 'sum', children: ['nope'] })],
    ['freq', 'name=x,freq=60', def('x', { freq: 60 })],
    ['the largest freq', 'name=x,freq=4294967295', def('x', { freq: 4294967295 })],
    ['reset_after_push as a bare word', 'name=x,reset_after_push', def('x', { resetAfterPush: true })],
    ['arg1, arg2 and arg3', 'name=x,arg1=a,arg2=b,arg3=c', def('x', { arg1: 'a', arg2: 'b', arg3: 'c' })],
    ['arg1n, arg2n and arg3n at the int64 limits', `name=x,arg1n=${INT64_MIN},arg2n=0,arg3n=${INT64_MAX}`, def('x', { arg1n: BigInt(INT64_MIN), arg2n: 0n, arg3n: BigInt(INT64_MAX) })],
    ['an escaped comma inside arg1 (msg style)', 'name=x,arg1=too high\\, really,arg2=b', def('x', { arg1: 'too high, really', arg2: 'b' })],
    ['an escaped backslash inside arg1', 'name=x,arg1=C:\\\\dir', def('x', { arg1: 'C:\\dir' })],
    ['"=" after the first one inside a value', 'name=x,arg1=a=b', def('x', { arg1: 'a=b' })],
    ['an escaped "=" inside a value', 'name=x,arg1=a\\=b', def('x', { arg1: 'a=b' })],
    ['keys in any order', 'type=gauge,freq=5,name=x', def('x', { type: 'gauge', freq: 5 })],
    ['a name of MAX_NAME_BYTES', `name=${'n'.repeat(MAX_NAME_BYTES)}`, def('n'.repeat(MAX_NAME_BYTES))],
    ['an oid of MAX_OID_BYTES with the largest arc', `name=x,oid=${LONGEST_OID}`, def('x', { oid: LONGEST_OID })],
    ['an arg of MAX_ARG_BYTES', `name=x,arg1=${'a'.repeat(MAX_ARG_BYTES)}`, def('x', { arg1: 'a'.repeat(MAX_ARG_BYTES) })],
  ])('%s', (_behaviour, spec, expected) => {
    expect(parseMetricSpec(spec)).toStrictEqual(expected);
  });

  it('tests the oid limit with an oid of exactly MAX_OID_BYTES', () => {
    expect(LONGEST_OID).toHaveLength(MAX_OID_BYTES);
  });

  it.each(['1', 'true', 'yes', 'on'])('reads reset_after_push=%s as on', (word) => {
    expect(parseMetricSpec(`name=x,reset_after_push=${word}`).resetAfterPush).toBe(true);
  });

  it.each(['0', 'false', 'no', 'off'])('reads reset_after_push=%s as off (uWSGI: on, because the key is present)', (word) => {
    expect(parseMetricSpec(`name=x,reset_after_push=${word}`).resetAfterPush).toBe(false);
  });
});

/**
 * The parser rows of the fact sheet's "Bad input" table: what uWSGI 2.0.21 did, and what we do.
 * `key` and `parts` are null when we accept the input.
 */
describe('uWSGI bad input', () => {
  it.each<[string, string, string | null, string[] | null]>([
    ['unknown key: uWSGI ignored it', 'name=x,foo=bar,type=gauge', 'foo', ['unknown key "foo"', '(value "bar")']],
    ['uppercase type: uWSGI made a counter', 'name=x,type=GAUGE', 'type', ['type "GAUGE"', 'did you mean "gauge"']],
    ['unknown type: uWSGI made a counter', 'name=x,type=bogus', 'type', ['type "bogus" is not one of counter, gauge, absolute, alias']],
    ['collector=bogus: uWSGI exited', 'name=x,collector=bogus', 'collector', ['collector "bogus"', COLLECTORS.join(', ')]],
    ['collector=ptr without arg1: uWSGI segfaulted', 'name=x,collector=ptr', 'arg1', ['collector "ptr" needs arg1']],
    ['invalid simple name: uWSGI exited', 'bad name', 'name', ['name "bad name"', 'only 0-9 a-z A-Z . - _ are allowed']],
    ['invalid name=: uWSGI exited', 'name=a/b', 'name', ['name "a/b"', 'only 0-9 a-z A-Z . - _ are allowed']],
    ['oid=1.2.a: uWSGI exited', 'name=x,oid=1.2.a', 'oid', ['oid "1.2.a"']],
    ['no name: uWSGI exited', 'type=gauge', 'name', ['missing name']],
    ['type=alias without alias=: uWSGI exited', 'name=x,type=alias', 'alias', ['type "alias" needs alias=']],
    ['alias= without type=alias: uWSGI ignored the alias', 'name=x,alias=y', 'alias', ['alias "y" needs type=alias']],
    ['collector=func without arg1: uWSGI kept initial_value forever', 'name=x,collector=func', 'arg1', ['collector "func" needs arg1']],
    ['empty name: uWSGI created metric ""', 'name=', 'name', ['key "name" needs a value']],
    ['duplicate key: uWSGI kept the last', 'name=x,type=gauge,type=absolute', 'type', ['duplicate key "type"', '"gauge"', '"absolute"']],
    ['initial_value=12abc: uWSGI read 12', 'name=x,initial_value=12abc', 'initial_value', ['initial_value "12abc"']],
    ['freq=0: uWSGI used 1', 'name=x,freq=0', 'freq', ['freq "0"']],
    ['freq=abc: uWSGI used 1', 'name=x,freq=abc', 'freq', ['freq "abc"']],
    ['collector=manual: uWSGI exited; we read it as no collector', 'name=x,collector=manual', null, null],
    ['children=nope: uWSGI exited; the region checks existence, not the parser', 'name=x,collector=sum,children=nope', null, null],
    ['type=alias,alias=nope: uWSGI exited; the region checks existence', 'name=x,type=alias,alias=nope', null, null],
  ])('%s', (_row, spec, key, parts) => {
    if (parts === null) {
      expect(() => parseMetricSpec(spec)).not.toThrow();
      return;
    }
    const error = specError(() => parseMetricSpec(spec));
    expect(error.key).toBe(key);
    for (const part of parts) expect(error.message).toContain(part);
  });
});

describe('parseMetricSpec rejects', () => {
  const long = (n: number) => 'a'.repeat(n);
  it.each<[string, string, string | undefined, string[]]>([
    ['a key that is only an inherited Object property', 'name=x,constructor=1', 'constructor', ['unknown key "constructor"']],
    ['an unknown bare word', 'name=x,foo', 'foo', ['unknown key "foo"', 'bare word']],
    ['a known key as a bare word', 'name=x,oid', 'oid', ['key "oid" needs a value', 'bare word']],
    ['an empty item', 'name=x,,type=gauge', undefined, ['empty item at position 2']],
    ['a trailing comma', 'name=x,', undefined, ['empty item at position 2']],
    ['a leading comma', ',name=x', undefined, ['empty item at position 1']],
    ['a trailing lone backslash', 'name=x,arg1=a\\', undefined, ['trailing backslash']],
    ['the empty spec', '', 'name', ['missing name']],
    ['a name with a space', 'name=a b', 'name', ['name "a b"', 'only 0-9 a-z A-Z . - _ are allowed']],
    ['a non-ASCII name', 'name=caf\u00e9', 'name', ['name "caf\u00e9"', 'only 0-9 a-z A-Z . - _ are allowed']],
    ['a simple name holding an escaped "="', 'a\\=b', 'name', ['name "a\\\\=b"', 'only']],
    ['a simple name with a comma', 'x,reset_after_push', 'name', ['name "x,reset_after_push"', 'only']],
    ['a name longer than MAX_NAME_BYTES', `name=${long(MAX_NAME_BYTES + 1)}`, 'name', [`name "${long(MAX_NAME_BYTES + 1)}"`, 'is 128 bytes, longer than 127']],
    ['an empty type', 'name=x,type=', 'type', ['key "type" needs a value (got "")']],
    ['an oid with an empty arc', 'name=x,oid=1..2', 'oid', ['oid "1..2"', 'dotted decimal']],
    ['an oid starting with a dot', 'name=x,oid=.1.3', 'oid', ['oid ".1.3"']],
    ['an oid ending with a dot', 'name=x,oid=1.3.', 'oid', ['oid "1.3."']],
    ['an oid with a negative arc', 'name=x,oid=1.-3', 'oid', ['oid "1.-3"']],
    ['an oid arc above 4294967295', 'name=x,oid=1.4294967296', 'oid', ['oid "1.4294967296"', 'arc 4294967296 is above 4294967295']],
    ['an oid longer than MAX_OID_BYTES', `name=x,oid=${'1.'.repeat(32)}1`, 'oid', [`oid "${'1.'.repeat(32)}1"`, 'is 65 bytes, longer than 63']],
    ['a fractional initial_value', 'name=x,initial_value=1.5', 'initial_value', ['initial_value "1.5" must be a base-10 integer']],
    ['a non-numeric initial_value', 'name=x,initial_value=abc', 'initial_value', ['initial_value "abc"']],
    ['an initial_value with a plus sign', 'name=x,initial_value=+5', 'initial_value', ['initial_value "+5"']],
    ['an initial_value with spaces', 'name=x,initial_value= 5', 'initial_value', ['initial_value " 5"']],
    ['an initial_value one above int64', 'name=x,initial_value=9223372036854775808', 'initial_value', ['initial_value "9223372036854775808"', 'outside the int64 range']],
    ['an initial_value one below int64', 'name=x,initial_value=-9223372036854775809', 'initial_value', ['initial_value "-9223372036854775809"', 'outside the int64 range']],
    ['arg1n=12abc', 'name=x,arg1n=12abc', 'arg1n', ['arg1n "12abc" must be a base-10 integer']],
    ['a hexadecimal arg2n', 'name=x,arg2n=0x10', 'arg2n', ['arg2n "0x10"']],
    ['an exponent arg3n', 'name=x,arg3n=1e3', 'arg3n', ['arg3n "1e3"']],
    ['arg1n above int64', 'name=x,arg1n=9223372036854775808', 'arg1n', ['arg1n "9223372036854775808"', 'outside the int64 range']],
    ['a negative freq', 'name=x,freq=-1', 'freq', ['freq "-1"', 'whole number of seconds']],
    ['a fractional freq', 'name=x,freq=1.5', 'freq', ['freq "1.5"']],
    ['a freq above uint32', 'name=x,freq=4294967296', 'freq', ['freq "4294967296"']],
    ['a duplicate name key', 'name=x,name=y', 'name', ['duplicate key "name"', '"x"', '"y"']],
    ['a duplicate bare reset_after_push', 'name=x,reset_after_push,reset_after_push=1', 'reset_after_push', ['duplicate key "reset_after_push"']],
    ['a collector in the wrong case', 'name=x,collector=Sum', 'collector', ['collector "Sum"', 'did you mean "sum"']],
    ['an alias driven by a collector', 'name=x,type=alias,alias=y,collector=sum', 'collector', ['collector "sum"', 'type "alias"']],
    ['an alias with children', 'name=x,type=alias,alias=y,children=a', 'children', ['children "a"', 'type "alias"']],
    ['an alias that is not a valid name', 'name=x,type=alias,alias=a/b', 'alias', ['alias "a/b"', 'only']],
    ['an alias of itself', 'name=x,type=alias,alias=x', 'alias', ['alias "x" is the metric itself']],
    ['children without a collector', 'name=x,children=a;b', 'children', ['children "a;b"', 'not "manual"']],
    ['children with collector=manual', 'name=x,collector=manual,children=a', 'children', ['children "a"', 'not "manual"']],
    ['children with collector=file', 'name=x,collector=file,arg1=/f,children=a', 'children', ['children "a"', 'not "file"']],
    ['children with collector=func', 'name=x,collector=func,arg1=f,children=a', 'children', ['children "a"', 'not "func"']],
    ['children with collector=ptr', 'name=x,collector=ptr,arg1=p,children=a', 'children', ['children "a"', 'not "ptr"']],
    ['collector=file without arg1', 'name=x,collector=file,arg1n=1', 'arg1', ['collector "file" needs arg1']],
    ['a child that is not a valid name', 'name=x,collector=sum,children=a;b/c', 'children', ['child "b/c"', 'children "a;b/c"']],
    ['an empty child', 'name=x,collector=sum,children=a;;b', 'children', ['child ""', 'children "a;;b"', 'is empty']],
    ['a trailing ";" in children', 'name=x,collector=sum,children=a;', 'children', ['child ""', 'children "a;"']],
    ['a metric that is its own child', 'name=x,collector=sum,children=a;x', 'children', ['child "x"', 'is the metric itself']],
    ['arg1 longer than MAX_ARG_BYTES', `name=x,arg1=${long(256)}`, 'arg1', [`arg1 "${long(256)}"`, 'is 256 bytes, longer than 255']],
    ['arg2 of 128 two-byte characters (256 bytes)', `name=x,arg2=${'\u00e9'.repeat(128)}`, 'arg2', ['arg2 "\u00e9', 'is 256 bytes']],
    ['arg3 longer than MAX_ARG_BYTES', `name=x,arg3=${long(300)}`, 'arg3', ['arg3 "a', 'is 300 bytes']],
    ['an arg with a NUL character', 'name=x,arg1=a\u0000b', 'arg1', ['arg1 "a\\u0000b"', 'NUL']],
    ['reset_after_push=maybe', 'name=x,reset_after_push=maybe', 'reset_after_push', ['reset_after_push "maybe"', '1, true, yes, on, 0, false, no, off']],
    ['an empty reset_after_push=', 'name=x,reset_after_push=', 'reset_after_push', ['key "reset_after_push" needs a value']],
  ])('%s', (_behaviour, spec, key, parts) => {
    const error = specError(() => parseMetricSpec(spec));
    expect(error.spec).toBe(spec);
    expect(error.key).toBe(key);
    for (const part of parts) expect(error.message).toContain(part);
  });

  it('suggests nothing for a type with no lowercase match', () => {
    expect(specError(() => parseMetricSpec('name=x,type=bogus')).message).not.toContain('did you mean');
  });
});

describe('isValidMetricName', () => {
  it.each<[string, boolean]>([
    ['core.total_tx', true],
    ['A-z_0.9', true],
    ['n'.repeat(MAX_NAME_BYTES), true],
    ['n'.repeat(MAX_NAME_BYTES + 1), false],
    ['', false],
    ['a/b', false],
    ['a b', false],
    ['a;b', false],
    ['caf\u00e9', false],
  ])('%j → %s', (name, valid) => {
    expect(isValidMetricName(name)).toBe(valid);
  });
});

describe('formatMetricSpec', () => {
  it.each<[string, string, string]>([
    ['writes just the name when everything is default', 'name=foobar', 'foobar'],
    ['drops explicit defaults', 'name=x,type=counter,collector=manual,freq=1,initial_value=0,reset_after_push=off', 'x'],
    ['orders keys canonically', 'arg1n=2,freq=5,type=gauge,name=x,oid=1.3', 'name=x,oid=1.3,type=gauge,freq=5,arg1n=2'],
    ['writes reset_after_push on as =1', 'name=x,reset_after_push', 'name=x,reset_after_push=1'],
    ['joins children with ";"', 'name=s,children=a;b,collector=sum', 'name=s,collector=sum,children=a;b'],
    ['escapes commas, "=" and backslashes in args', 'name=x,arg1=a\\,b=c\\\\d', 'name=x,arg1=a\\,b\\=c\\\\d'],
    ['normalizes leading zeros in numbers', 'name=x,initial_value=-007,freq=030', 'name=x,initial_value=-7,freq=30'],
  ])('%s', (_behaviour, spec, canonical) => {
    expect(formatMetricSpec(parseMetricSpec(spec))).toBe(canonical);
  });

  const accepted = [
    'foobar',
    'name=x,oid=1.3.6.1.4.1.35156.17.3.100,type=gauge,initial_value=-5,freq=10,reset_after_push',
    'name=x,type=absolute,reset_after_push=no',
    'name=x,type=alias,alias=worker.1.requests',
    'name=load,collector=file,arg1=/proc/loadavg,arg1n=1',
    'name=s,collector=adder,children=a;b;c,arg1n=9223372036854775807,arg2n=-9223372036854775808,arg3n=0',
    'name=x,collector=func,arg1=too high\\, really,arg2=C:\\\\dir,arg3=k\\=v',
    'name=x,arg1=\u00e9t\u00e9 \u2603',
    'name=x,initial_value=0,arg1n=0',
  ];

  it.each(accepted)('round-trips %j through format and parse', (spec) => {
    const parsed = parseMetricSpec(spec);
    expect(parseMetricSpec(formatMetricSpec(parsed))).toStrictEqual(parsed);
  });

  it.each(accepted)('gives normalizeMetricDefinition of the parse of %j the same definition', (spec) => {
    const parsed = parseMetricSpec(spec);
    expect(normalizeMetricDefinition(parsed)).toStrictEqual(parsed);
  });
});

describe('normalizeMetricDefinition', () => {
  it.each<[string, MetricDefinitionInput, MetricDefinition]>([
    ['fills every default for a bare name', { name: 'x' }, def('x')],
    ['turns number values into bigints', { name: 'x', initialValue: -3, arg1n: 7 }, def('x', { initialValue: -3n, arg1n: 7n })],
    ['keeps bigint values', { name: 'x', initialValue: 2n ** 62n }, def('x', { initialValue: 2n ** 62n })],
    ['accepts children as an array', { name: 's', collector: 'sum', children: ['a', 'b'] }, def('s', { collector: 'sum', children: ['a', 'b'] })],
    ['treats an empty children array as none', { name: 'x', children: [] }, def('x')],
    ['keeps commas and "=" in args literally', { name: 'x', arg1: 'a,b=c\\' }, def('x', { arg1: 'a,b=c\\' })],
    ['ignores properties set to undefined', { name: 'x', oid: undefined }, def('x')],
    ['reads resetAfterPush', { name: 'x', resetAfterPush: true }, def('x', { resetAfterPush: true })],
  ])('%s', (_behaviour, input, expected) => {
    expect(normalizeMetricDefinition(input)).toStrictEqual(expected);
  });

  it.each<[string, MetricDefinitionInput]>([
    ['name=a/b', { name: 'a/b' }],
    ['name=', { name: '' }],
    ['name=x,type=GAUGE', { name: 'x', type: 'GAUGE' as never }],
    ['name=x,collector=bogus', { name: 'x', collector: 'bogus' as never }],
    ['name=x,oid=1.2.a', { name: 'x', oid: '1.2.a' }],
    ['name=x,freq=0', { name: 'x', freq: 0 }],
    ['name=x,freq=1.5', { name: 'x', freq: 1.5 }],
    ['name=x,initial_value=1.5', { name: 'x', initialValue: 1.5 }],
    ['name=x,initial_value=9223372036854775808', { name: 'x', initialValue: 2n ** 63n }],
    ['name=x,arg2n=-9223372036854775809', { name: 'x', arg2n: -(2n ** 63n) - 1n }],
    ['name=x,type=alias', { name: 'x', type: 'alias' }],
    ['name=x,alias=y', { name: 'x', alias: 'y' }],
    ['name=x,type=alias,alias=x', { name: 'x', type: 'alias', alias: 'x' }],
    ['name=x,children=a', { name: 'x', children: ['a'] }],
    ['name=x,collector=sum,children=a;x', { name: 'x', collector: 'sum', children: ['a', 'x'] }],
    ['name=x,collector=sum,children=a;', { name: 'x', collector: 'sum', children: ['a', ''] }],
    ['name=x,collector=file', { name: 'x', collector: 'file' }],
    ['name=x,arg1=', { name: 'x', arg1: '' }],
    [`name=x,arg3=${'a'.repeat(256)}`, { name: 'x', arg3: 'a'.repeat(256) }],
  ])('rejects the object form of %j with the error parseMetricSpec gives', (spec, input) => {
    const fromObject = specError(() => normalizeMetricDefinition(input));
    const fromText = specError(() => parseMetricSpec(spec));
    expect(fromObject.detail).toBe(fromText.detail);
    expect(fromObject.key).toBe(fromText.key);
  });

  it('puts the formatted spec in the error', () => {
    expect(specError(() => normalizeMetricDefinition({ name: 'x', arg1: 'a,b', type: 'GAUGE' as never })).spec).toBe(
      'name=x,arg1=a\\,b,type=GAUGE',
    );
  });

  it.each<[string, Record<string, unknown>, string | undefined, string[]]>([
    ['an unknown property', { name: 'x', colector: 'sum' }, 'colector', ['unknown property "colector"', '(value "sum")']],
    ['a snake_case spec key as a property', { name: 'x', initial_value: 5 }, 'initial_value', ['unknown property "initial_value"']],
    ['a name that is not a string', { name: 5 }, 'name', ['name must be a string, not number']],
    ['a missing name', { type: 'gauge' }, 'name', ['missing name']],
    ['a freq given as a string', { name: 'x', freq: '5' }, 'freq', ['freq must be a number, not string']],
    ['an initialValue number beyond 2^53', { name: 'x', initialValue: 2 ** 60 }, 'initial_value', ['initial_value 1152921504606847000', 'pass a bigint']],
    ['an arg1n given as a string', { name: 'x', arg1n: '5' }, 'arg1n', ['arg1n must be a bigint or a number, not string']],
    ['resetAfterPush given as a string', { name: 'x', resetAfterPush: 'yes' }, 'reset_after_push', ['resetAfterPush must be a boolean']],
    ['children given as a string', { name: 'x', collector: 'sum', children: 'a;b' }, 'children', ['children must be an array of strings']],
    ['a child name containing ";"', { name: 'x', collector: 'sum', children: ['a;b'] }, 'children', ['child "a;b"', 'only 0-9 a-z A-Z . - _ are allowed']],
  ])('rejects %s', (_behaviour, input, key, parts) => {
    const error = specError(() => normalizeMetricDefinition(input as MetricDefinitionInput));
    expect(error.key).toBe(key);
    for (const part of parts) expect(error.message).toContain(part);
  });
});
