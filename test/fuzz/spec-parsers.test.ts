import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAlarmSpec, parseAlarmSpec } from '../../src/alarms/alarm-spec';
import { AlarmSpecError, MetricSpecError, PushSpecError, ThresholdSpecError } from '../../src/errors';
import { formatPushSpec, parsePushSpec } from '../../src/push/push-spec';
import { formatMetricSpec, parseMetricSpec } from '../../src/spec/metric-spec';
import { formatThresholdSpec, parseThresholdSpec } from '../../src/spec/threshold-spec';

/** 4 parsers x 25,000 inputs = the 100,000 generated and mutated specs of the hardening issue. */
const RUNS = 25_000;

interface Parser {
  name: string;
  parse(spec: string): unknown;
  format(def: never): string;
  error: new (...args: never[]) => Error;
  valid: string[];
  words: string[];
}

const PARSERS: Parser[] = [
  {
    name: '--metric',
    parse: parseMetricSpec,
    format: formatMetricSpec as (def: never) => string,
    error: MetricSpecError,
    valid: [
      'worker.1.requests',
      'name=load,type=gauge,collector=file,arg1=/proc/loadavg,arg1n=1,arg2n=100',
      'name=s,collector=sum,children=a;b;c,initial_value=-5,freq=3,reset_after_push',
      'name=al,type=alias,alias=x,oid=3.1.1',
      'name=h,type=histogram,buckets=exponential:100:2:10',
      'name=f,collector=func,arg1=my_fn,arg2=a\\,b,arg3n=9223372036854775807',
    ],
    words: ['name', 'type', 'gauge', 'counter', 'absolute', 'alias', 'histogram', 'oid', 'collector', 'sum', 'file', 'children', 'buckets', 'freq', 'arg1', 'arg1n', 'initial_value', 'reset_after_push', 'linear:0:1:3'],
  },
  {
    name: '--metric-threshold',
    parse: parseThresholdSpec,
    format: formatThresholdSpec as (def: never) => string,
    error: ThresholdSpecError,
    valid: ['key=t1,value=5,alarm=logit', 'key=t2,value=10,alarm=cmdit,msg=t2 is too high\\, really,rate=4', 'key=t3,value=-3,reset=0'],
    words: ['key', 'value', 'alarm', 'rate', 'reset', 'msg'],
  },
  {
    name: '--alarm',
    parse: parseAlarmSpec,
    format: formatAlarmSpec as (def: never) => string,
    error: AlarmSpecError,
    valid: ['logit log:', 'pager cmd:mail -s alarm ops@example.com', 'pfx log:PFX here'],
    words: ['log:', 'cmd:', ' ', 'echo'],
  },
  {
    name: '--stats-push',
    parse: parsePushSpec,
    format: formatPushSpec as (def: never) => string,
    error: PushSpecError,
    valid: ['statsd:127.0.0.1:8125', 'statsd:127.0.0.1:8125,myprefix,freq=5,allow=worker.;core.', 'socket:127.0.0.1:9000', 'file:path=/tmp/x,freq=2,separator=@@'],
    words: ['statsd', 'carbon', 'zabbix', 'rrdtool', 'socket', 'file', 'freq', 'allow', 'forbid', 'path', '127.0.0.1', ':'],
  },
];

const SYNTAX = ['=', ',', '\\', ';', '.', ':', ' ', '-', '_', '0', '1', '9', 'a', 'Z', '/', '\n', '\0', 'é'];

/** Random text over the parser's vocabulary, or a valid spec with a few characters inserted, deleted or replaced. */
function specs(parser: Parser): fc.Arbitrary<string> {
  const token = fc.oneof(fc.constantFrom(...SYNTAX), fc.constantFrom(...parser.words), fc.string({ maxLength: 4 }));
  const generated = fc.array(token, { maxLength: 24 }).map((tokens) => tokens.join(''));
  const mutated = fc
    .tuple(fc.constantFrom(...parser.valid), fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(...SYNTAX)), { minLength: 1, maxLength: 4 }))
    .map(([spec, edits]) =>
      edits.reduce((s, [at, kind, ch]) => {
        const i = at % (s.length + 1);
        return kind === 0 ? s.slice(0, i) + ch + s.slice(i) : kind === 1 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i + 1);
      }, spec),
    );
  return fc.oneof(generated, mutated, fc.constantFrom(...parser.valid));
}

describe.each(PARSERS)('the $name parser on 25,000 generated and mutated inputs', (parser) => {
  it('never crashes or hangs: it accepts (and the spec round-trips) or refuses with its own error naming the problem', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(specs(parser), (spec) => {
        let def: unknown;
        try {
          def = parser.parse(spec);
        } catch (error) {
          expect(error).toBeInstanceOf(parser.error);
          expect((error as Error).message.length).toBeGreaterThan(10);
          refused++;
          return;
        }
        accepted++;
        const text = parser.format(def as never);
        expect(parser.parse(text)).toEqual(def);
        expect(parser.format(parser.parse(text) as never)).toBe(text);
      }),
      { numRuns: RUNS, seed: 20261121 },
    );
    expect(accepted).toBeGreaterThan(RUNS / 100);
    expect(refused).toBeGreaterThan(RUNS / 10);
  }, 120_000);
});
