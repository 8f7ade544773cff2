import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveMasterConfig } from '../../src/master/options';
import { ROOT } from '../helpers/processes';
import { tempDir } from '../helpers/regions';

const CLI = path.join(ROOT, 'dist/cli/main.js');

function ini(text: string): string {
  const file = path.join(tempDir('ini'), 'shmetrics.ini');
  fs.writeFileSync(file, text);
  return file;
}

describe('master options', () => {
  it('defaults: no workers without a program, one with; builtins on; alarm-freq 3; files 0600', () => {
    expect(resolveMasterConfig([], {})).toMatchObject({
      processes: 0, builtins: true, alarmFreq: 3, metricsDirMode: 0o600, workerStopTimeout: 10, metrics: [], region: undefined,
    });
    expect(resolveMasterConfig(['--', 'node', 'app.js'], {})).toMatchObject({ processes: 1, command: ['node', 'app.js'] });
  });

  it('reads every option, uWSGI spellings included', () => {
    const config = resolveMasterConfig(
      [
        '--name', 'shop', '--workers', '3', '--metric', 'hits', '--metric', 'name=g,type=gauge',
        '--alarm', 'logit log:', '--metric-alarm', 'key=g,value=5,alarm=logit', '--alarm-metric', 'key=hits,value=1',
        '--alarm-freq', '10', '--metrics-dir', '/tmp/m', '--metrics-dir-restore', '--metrics-dir-mode', '640',
        '--no-builtins', '--capacity', '100', '--lanes', '8', '--worker-stop-timeout', '2', '--dlopen', '/x.so',
        '--', 'node', 'app.js',
      ],
      {},
    );
    expect(config).toMatchObject({
      region: '/dev/shm/shmetrics-shop', processes: 3, alarmFreq: 10, metricsDir: '/tmp/m', metricsDirRestore: true,
      metricsDirMode: 0o640, builtins: false, capacity: 100, lanes: 8, workerStopTimeout: 2, dlopen: ['/x.so'],
    });
    expect(config.metrics.map((m) => m.name)).toEqual(['hits', 'g']);
    expect(config.thresholds.map((t) => t.key)).toEqual(['g', 'hits']);
    expect(config.alarms).toEqual([{ name: 'logit', plugin: 'log', args: '' }]);
  });

  it('precedence: command line over environment over ini file; repeatable options collect all three, ini first', () => {
    const file = ini(
      ['[other]', 'processes = 9', '[shmetrics]', '; a comment', 'processes = 2', 'metrics-dir = /from/ini', 'metric = a', 'metric = b',
        'metrics-dir-restore', 'alarm-freq = 7'].join('\n'),
    );
    const config = resolveMasterConfig(['--ini', file, '--processes', '4', '--metric', 'd', '--', 'x'], {
      SHMETRICS_PROCESSES: '3',
      SHMETRICS_METRICS_DIR: '/from/env',
      SHMETRICS_METRIC: 'c\nname=c2,type=gauge',
    });
    expect(config.processes).toBe(4);
    expect(config.metricsDir).toBe('/from/env');
    expect(config.metricsDirRestore).toBe(true);
    expect(config.alarmFreq).toBe(7);
    expect(config.metrics.map((m) => m.name)).toEqual(['a', 'b', 'c', 'c2', 'd']);
  });

  it('the ini file can come from SHMETRICS_INI, and flags from the environment take yes/no words', () => {
    const file = ini('[shmetrics]\nname = fromini\n');
    const config = resolveMasterConfig([], { SHMETRICS_INI: file, SHMETRICS_NO_BUILTINS: 'yes', SHMETRICS_METRICS_DIR: '/d', SHMETRICS_METRICS_DIR_RESTORE: 'off' });
    expect(config).toMatchObject({ region: '/dev/shm/shmetrics-fromini', builtins: false, metricsDirRestore: false });
  });
});

describe('every bad option is exit 2 and one line naming the option and the value, before anything starts', () => {
  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['an unknown option', ['--frob', '--', 'x'], {}, /^shmetrics: unknown option --frob/],
    ['a bad --processes', ['--processes', 'many', '--', 'x'], {}, /^shmetrics: --processes "many": expected a whole number from 0 to 1024$/],
    ['--processes 0 with a program', ['--processes', '0', '--', 'x'], {}, /^shmetrics: --processes 0: a command needs at least one worker$/],
    ['a bad --metric', ['--metric', 'name=x,type=GAUGE'], {}, /^shmetrics: --metric "name=x,type=GAUGE": .*type "GAUGE"/],
    ['a threshold naming no defined alarm', ['--metric', 'x', '--metric-threshold', 'key=x,value=1,alarm=nope'], {}, /alarm "nope" is not defined by any --alarm/],
    ['a bad --alarm', ['--alarm', 'pager mail:x'], {}, /^shmetrics: --alarm "pager mail:x": .*mail/],
    ['a threshold on an unknown metric', ['--metric-threshold', 'key=nope,value=1'], {}, /--metric-threshold key=nope,value=1: .*unknown metric "nope"/],
    ['--metrics-dir-restore without --metrics-dir', ['--metrics-dir-restore'], {}, /^shmetrics: --metrics-dir-restore: needs --metrics-dir DIR$/],
    ['a bad --metrics-dir-mode', ['--metrics-dir', '/tmp/x', '--metrics-dir-mode', '999'], {}, /--metrics-dir-mode "999": expected an octal mode/],
    ['--region with --name', ['--region', '/dev/shm/a', '--name', 'b'], {}, /give --region or --name, not both/],
    ['a bad --name', ['--name', 'a/b'], {}, /--name "a\/b": a region name may use/],
    ['a repeated single option', ['--processes', '1', '--processes', '2'], {}, /--processes given more than once/],
    ['a missing value', ['--metric'], {}, /option --metric needs a value/],
    ['a bad environment value', ['--metric', 'x'], { SHMETRICS_ALARM_FREQ: 'soon' }, /^shmetrics: SHMETRICS_ALARM_FREQ "soon": expected a whole number/],
    ['a missing ini file', ['--ini', '/nonexistent.ini'], {}, /^shmetrics: --ini \/nonexistent\.ini: cannot read: ENOENT$/],
    ['a library that does not load', ['--dlopen', '/nonexistent/lib.so'], {}, /^shmetrics: --dlopen \/nonexistent\/lib\.so: .*\/nonexistent\/lib\.so/],
    ['--http on every interface without asking', ['--http', '0.0.0.0:9100'], {}, /^shmetrics: --http "0\.0\.0\.0:9100": .*every interface/],
    ['--http-auth without --http', ['--http-auth', 'a:b'], {}, /^shmetrics: --http-auth: needs --http ADDR$/],
    ['a bad --http address', ['--http', 'localhost:http'], {}, /^shmetrics: --http "localhost:http": /],
    ['--snmp without a community or a v3 user', ['--snmp', '127.0.0.1:1161'], {}, /^shmetrics: --snmp 127\.0\.0\.1:1161: needs --snmp-community STR or an SNMPv3 user/],
    ['a bad --snmp address', ['--snmp', '127.0.0.1:99999', '--snmp-community', 'x'], {}, /^shmetrics: --snmp "127\.0\.0\.1:99999": /],
    ['half a v3 user', ['--snmp', ':1161', '--snmp-v3-user', 'ops'], {}, /an SNMPv3 user needs --snmp-v3-user, --snmp-v3-auth-key and --snmp-v3-priv-key/],
    ['a short v3 key', ['--snmp', ':1161', '--snmp-v3-user', 'ops', '--snmp-v3-auth-key', 'short', '--snmp-v3-priv-key', 'longenough'], {}, /--snmp-v3-auth-key: a v3 passphrase needs at least 8 characters/],
    ['an unknown stats pusher', ['--stats-push', 'nosuch:x'], {}, /^shmetrics: --stats-push "nosuch:x": .*nosuch.*statsd/],
    ['a stats pusher whose arguments do not parse', ['--stats-push', 'statsd:127.0.0.1'], {}, /^shmetrics: --stats-push statsd:127\.0\.0\.1: .*PORT/],
    ['a stray argument', ['--metric', 'x', 'node', 'app.js'], {}, /unexpected argument "node": the program to run goes after --/],
  ];
  it.each(cases)('%s', (_label, args, env, message) => {
    const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 10_000 });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd()).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an ini file with an unknown option names the file and the line', () => {
    const file = ini('[shmetrics]\nprocesses = 2\nfrobnicate = yes\n');
    const result = spawnSync(process.execPath, [CLI, '--ini', file, '--metric', 'x'], { encoding: 'utf8', timeout: 10_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`shmetrics: ${file}:3: unknown option frobnicate (see shmetrics --help)\n`);
  });
});
