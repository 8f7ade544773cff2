import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { ROOT } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';

const CLI = path.join(ROOT, 'dist/cli/main.js');
const INT64_MAX = 2n ** 63n - 1n;

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `shmetrics` binary; $SHMETRICS_REGION is unset unless `env` sets it. */
function shmetrics(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const baseEnv = { ...process.env };
  delete baseEnv.SHMETRICS_REGION;
  const result = spawnSync(process.execPath, [CLI, ...args], { env: { ...baseEnv, ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed and returns its stdout. */
function ok(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const result = shmetrics(args, env);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** The error line of a command that must fail: exit 2, nothing on stdout, one `shmetrics:` line, no stack. */
function fails(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const result = shmetrics(args, env);
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^shmetrics: [^\n]+\n$/);
  expect(result.stderr).not.toMatch(/\bat .*:\d+:\d+/);
  return result.stderr.trimEnd();
}

let file: string;
let region: Metrics;

function openRegion(): Metrics {
  file = tempRegionPath('cli');
  region = Metrics.open({ path: file });
  return region;
}

afterEach(() => region?.close());

describe('shmetrics get/set/inc/dec', () => {
  it('get prints the exact value another process set, even beyond 2^53', () => {
    openRegion().gauge('big').set(INT64_MAX);
    region.counter('small').inc(42);
    expect(ok(['get', 'big', '--region', file])).toBe(`${INT64_MAX}\n`);
    expect(ok(['get', 'small', '--region', file])).toBe('42\n');
  });

  it('set, inc and dec print nothing and change the value the attached process reads', () => {
    const hits = openRegion().counter('hits');
    expect(ok(['set', 'hits', '10', '--region', file])).toBe('');
    expect(hits.get()).toBe(10);
    ok(['inc', 'hits', '--region', file]);
    expect(hits.get()).toBe(11);
    ok(['inc', 'hits', '5', '--region', file]);
    expect(hits.get()).toBe(16);
    ok(['dec', 'hits', '--region', file]);
    ok(['dec', 'hits', '20', '--region', file]);
    expect(hits.get()).toBe(-5);
    ok(['set', 'hits', '-9223372036854775808', '--region', file]);
    expect(hits.getBigInt()).toBe(-(2n ** 63n));
  });

  it('a value the attached process writes after the CLI wrote is what the CLI reads next', () => {
    const load = openRegion().gauge('load');
    ok(['set', 'load', '7', '--region', file]);
    expect(load.get()).toBe(7);
    load.inc(3);
    expect(ok(['get', 'load', '--region', file])).toBe('10\n');
  });

  it('dec by INT64_MIN wraps at 64 bits like every other update', () => {
    openRegion().counter('wrap').set(1);
    ok(['dec', 'wrap', '-9223372036854775808', '--region', file]);
    expect(region.getBigInt('wrap')).toBe(1n - 2n ** 63n);
  });
});

describe('shmetrics define', () => {
  it('prints the canonical spec and defines a metric the API then uses', () => {
    openRegion();
    expect(ok(['define', 'type=gauge,name=temp,initial_value=7', '--region', file])).toBe('name=temp,type=gauge,initial_value=7\n');
    expect(region.get('temp')).toBe(7);
    expect(ok(['define', 'plain', '--region', file])).toBe('plain\n');
    expect(region.metric('plain').type).toBe('counter');
  });

  it('accepts the same definition again and prints the same spec', () => {
    openRegion().define('name=q,type=gauge,oid=1.3.6.1.4.1.35156.17.3.1');
    expect(ok(['define', 'name=q,oid=1.3.6.1.4.1.35156.17.3.1,type=gauge', '--region', file])).toBe(
      'name=q,oid=1.3.6.1.4.1.35156.17.3.1,type=gauge\n',
    );
  });
});

describe('shmetrics ls', () => {
  function fill(): void {
    openRegion().define('name=requests.total,oid=1.3.6.1.4.1.35156.17.3.1');
    region.inc('requests.total', 1234);
    region.gauge('memory.rss').set(2n ** 60n);
    region.counter('requests.err').dec(3);
    region.define('name=requests.sum,collector=sum,children=requests.total;requests.err');
  }

  it('prints one aligned line per metric: name, type, exact value, and oid/collector where set', () => {
    fill();
    expect(ok(['ls', '--region', file])).toBe(
      [
        'NAME            TYPE                   VALUE  OID                       COLLECTOR',
        'requests.total  counter                 1234  1.3.6.1.4.1.35156.17.3.1',
        'memory.rss      gauge    1152921504606846976',
        'requests.err    counter                   -3',
        'requests.sum    counter                    0                            sum',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the OID and COLLECTOR columns when no listed metric has one', () => {
    fill();
    expect(ok(['ls', 'memory', '--region', file])).toBe(
      ['NAME        TYPE                 VALUE', 'memory.rss  gauge  1152921504606846976', ''].join('\n'),
    );
  });

  it('lists only the metrics whose name starts with PREFIX, in registration order', () => {
    fill();
    const names = ok(['ls', 'requests.', '--region', file])
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual(['requests.total', 'requests.err', 'requests.sum']);
  });

  it('prints nothing for an empty region or a prefix nothing matches', () => {
    openRegion();
    expect(ok(['ls', '--region', file])).toBe('');
    region.counter('a');
    expect(ok(['ls', 'zzz', '--region', file])).toBe('');
  });

  it('--json prints one document with numbers for safe integers and strings beyond', () => {
    fill();
    const doc = JSON.parse(ok(['ls', '--json', '--region', file]));
    expect(doc).toEqual({
      region: file,
      metrics: [
        { name: 'requests.total', type: 'counter', oid: '1.3.6.1.4.1.35156.17.3.1', collector: 'manual', value: 1234 },
        { name: 'memory.rss', type: 'gauge', oid: null, collector: 'manual', value: '1152921504606846976' },
        { name: 'requests.err', type: 'counter', oid: null, collector: 'manual', value: -3 },
        { name: 'requests.sum', type: 'counter', oid: null, collector: 'sum', value: 0 },
      ],
    });
    expect(JSON.parse(ok(['ls', '--json', 'memory', '--region', file])).metrics).toHaveLength(1);
  });

  it('--json keeps 2^53-1 a number and 2^53 a string', () => {
    openRegion().gauge('edge.safe').set(Number.MAX_SAFE_INTEGER);
    region.gauge('edge.unsafe').set(2n ** 53n);
    region.gauge('edge.negative').set(-Number.MAX_SAFE_INTEGER);
    const values = JSON.parse(ok(['ls', '--json', '--region', file])).metrics.map((m: { value: unknown }) => m.value);
    expect(values).toEqual([Number.MAX_SAFE_INTEGER, '9007199254740992', -Number.MAX_SAFE_INTEGER]);
  });
});

describe('shmetrics info', () => {
  it('prints the region path, layout version, capacities, metrics used, lanes and lock repairs', () => {
    file = tempRegionPath('cli');
    region = Metrics.open({ path: file, capacity: 64, valueCapacity: 256, lanes: 8 });
    region.counter('one');
    region.gauge('two');
    const lines = ok(['info', '--region', file]).trimEnd().split('\n');
    const fields = Object.fromEntries(lines.map((line) => line.split(/:\s+/, 2) as [string, string]));
    expect(fields).toMatchObject({
      region: file,
      'layout version': String(region.info().layoutVersion),
      metrics: '2 of 64',
      values: '2 of 256',
      lanes: '8',
      'lock repairs': '0',
    });
    expect(Object.keys(fields)).toEqual(['region', 'layout version', 'created', 'size', 'metrics', 'values', 'children capacity', 'lanes', 'lock repairs']);
    // Values start in one column.
    expect(new Set(lines.map((line) => line.search(/(?<=:\s+)\S/))).size).toBe(1);
  });
});

describe('how the region is named', () => {
  it('--region=PATH, --region PATH and $SHMETRICS_REGION all name it; --region wins over the environment', () => {
    openRegion().counter('c').inc(3);
    expect(ok(['get', 'c', `--region=${file}`])).toBe('3\n');
    expect(ok(['--region', file, 'get', 'c'])).toBe('3\n');
    expect(ok(['get', 'c'], { SHMETRICS_REGION: file })).toBe('3\n');
    expect(ok(['get', 'c', '--region', file], { SHMETRICS_REGION: '/dev/shm/shmetrics-no-such-region' })).toBe('3\n');
  });

  it('a metric whose name starts with - is reached after --', () => {
    openRegion().counter('-odd').inc(4);
    expect(ok(['get', '--region', file, '--', '-odd'])).toBe('4\n');
  });

  it('inspection never creates a region: a wrong path is an error and stays absent', () => {
    const missing = tempRegionPath('cli-missing');
    for (const args of [['ls'], ['info'], ['get', 'x'], ['set', 'x', '1'], ['define', 'x']]) {
      expect(fails([...args, '--region', missing])).toBe(`shmetrics: ${missing}: no such region (create it, or check the path)`);
    }
    expect(fs.existsSync(missing)).toBe(false);
  });
});

describe('help and version', () => {
  it('--help, -h and help print a usage that lists every command and option', () => {
    const usage = ok(['--help']);
    for (const word of ['get NAME', 'set NAME VALUE', 'inc NAME [DELTA]', 'dec NAME [DELTA]', 'define SPEC', 'ls [--json] [PREFIX]', 'info', 'help']) {
      expect(usage).toContain(`  ${word}`);
    }
    for (const option of ['--region PATH', '-h, --help', '--version', '--json']) expect(usage).toContain(option);
    expect(usage).toMatch(/safe integer.*string/);
    expect(ok(['-h'])).toBe(usage);
    expect(ok(['help'])).toBe(usage);
    expect(ok(['ls', '--help'])).toBe(usage);
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(ok(['--version'])).toBe(`shmetrics ${version}\n`);
  });
});

describe('errors: exit 2 and one line "shmetrics: <message>" on stderr, never a stack trace', () => {
  const cases: [string, (file: string) => string[], RegExp][] = [
    ['no command', () => [], /no command given/],
    ['an unknown command', (f) => ['frobnicate', '--region', f], /unknown command "frobnicate"/],
    ['an unknown option', (f) => ['--frobnicate', 'x', '--region', f], /unknown option --frobnicate/],
    ['an unknown short option, with how to pass a name starting with -', (f) => ['get', '-x', '--region', f], /unknown option -x \(see shmetrics --help; an argument starting with - goes after --: -- -x\)/],
    ['an option of another command', (f) => ['get', 'c', '--json', '--region', f], /option --json does not apply to get/],
    ['a value given to a flag', (f) => ['ls', '--json=yes', '--region', f], /option --json takes no value/],
    ['an unknown metric', (f) => ['get', 'nope', '--region', f], /^shmetrics: unknown metric "nope" in \/dev\/shm\//],
    ['inc of an unknown metric', (f) => ['inc', 'nope', '--region', f], /unknown metric "nope"/],
    ['a missing argument', (f) => ['set', 'c', '--region', f], /set: missing VALUE \(usage: shmetrics set NAME VALUE\)/],
    ['an extra argument', (f) => ['get', 'c', 'd', '--region', f], /get: unexpected argument "d"/],
    ['a fractional VALUE', (f) => ['set', 'c', '1.5', '--region', f], /set: VALUE "1\.5" is not a base-10 integer/],
    ['a VALUE with trailing junk', (f) => ['set', 'c', '12abc', '--region', f], /set: VALUE "12abc" is not a base-10 integer/],
    ['a hexadecimal DELTA', (f) => ['inc', 'c', '0x10', '--region', f], /inc: DELTA "0x10" is not a base-10 integer/],
    ['a VALUE above int64', (f) => ['set', 'c', '9223372036854775808', '--region', f], /set: VALUE "9223372036854775808" is outside the int64 range/],
    ['a DELTA below int64', (f) => ['dec', 'c', '-9223372036854775809', '--region', f], /dec: DELTA "-9223372036854775809" is outside the int64 range/],
    ['--region without a value', () => ['ls', '--region'], /option --region needs a value/],
    ['--region= with an empty value', () => ['ls', '--region='], /option --region needs a value/],
    ['--region given twice', (f) => ['ls', '--region', f, '--region', f], /option --region given more than once/],
    ['no region at all', () => ['ls'], /no region: pass --region PATH or set SHMETRICS_REGION/],
    ['a spec with an unknown key', (f) => ['define', 'name=z,colector=sum', '--region', f], /invalid metric spec "name=z,colector=sum": unknown key "colector"/],
    ['a spec with a bad type', (f) => ['define', 'name=z,type=Gauge', '--region', f], /type "Gauge" is not one of .*did you mean "gauge"/],
    ['a spec whose child does not exist', (f) => ['define', 'name=z,collector=sum,children=ghost', '--region', f], /children: unknown metric "ghost"/],
    ['a redefinition as another type', (f) => ['define', 'name=c,type=gauge', '--region', f], /metric "c" is already defined as a counter/],
    ['a write to a collector-driven metric', (f) => ['set', 'c.sum', '1', '--region', f], /"c\.sum" is computed by its sum collector/],
  ];

  it.each(cases)('%s', (_, args, message) => {
    openRegion().counter('c');
    region.define('name=c.sum,collector=sum,children=c');
    expect(fails(args(file))).toMatch(message);
  });

  it('a file that is not a region', () => {
    const junk = path.join(tempDir('cli'), 'junk');
    fs.writeFileSync(junk, 'not a region at all');
    expect(fails(['ls', '--region', junk])).toMatch(new RegExp(`^shmetrics: ${junk}: not a shmetrics region`));
  });
});
