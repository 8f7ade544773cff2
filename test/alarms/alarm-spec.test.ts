import { describe, expect, it } from 'vitest';
import { ALARM_PLUGINS } from '../../src/alarms/alarm-plugin';
import {
  AlarmDefinition,
  AlarmDefinitionInput,
  formatAlarmSpec,
  isValidAlarmName,
  normalizeAlarmDefinition,
  parseAlarmSpec,
} from '../../src/alarms/alarm-spec';
import { AlarmSpecError } from '../../src/errors';

/** The AlarmSpecError `run` throws; fails the test if it throws nothing or something else. */
function specError(run: () => unknown): AlarmSpecError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AlarmSpecError);
    return error as AlarmSpecError;
  }
  throw new Error('expected an AlarmSpecError, nothing was thrown');
}

describe('parseAlarmSpec accepts', () => {
  it.each<[string, string, AlarmDefinition]>([
    ['log with no argument (the fact sheet\'s "logit log:")', 'logit log:', { name: 'logit', plugin: 'log', args: '' }],
    ['log with a prefix containing spaces', 'logpfx log:PFX here', { name: 'logpfx', plugin: 'log', args: 'PFX here' }],
    [
      'cmd with the whole rest as the shell command',
      "cmdit cmd:(cat; echo '<EOF>') >> /tmp/alarm_cmd.txt",
      { name: 'cmdit', plugin: 'cmd', args: "(cat; echo '<EOF>') >> /tmp/alarm_cmd.txt" },
    ],
    ['":" after the first one inside the arguments', 'a cmd:echo a:b', { name: 'a', plugin: 'cmd', args: 'echo a:b' }],
    ['args keeping leading and trailing spaces', 'a log: x ', { name: 'a', plugin: 'log', args: ' x ' }],
    ['a name with letters, digits, _ - .', 'Alarm_1.x-y log:', { name: 'Alarm_1.x-y', plugin: 'log', args: '' }],
  ])('%s', (_behaviour, spec, expected) => {
    expect(parseAlarmSpec(spec)).toStrictEqual(expected);
  });
});

describe('parseAlarmSpec rejects', () => {
  it.each<[string, string, string, string[]]>([
    ['a spec without a space (uWSGI: "invalid alarm syntax")', 'logit', 'name', ['missing the space after the alarm name']],
    ['a plugin glued to the name', 'logit:log:', 'name', ['missing the space']],
    ['the empty spec', '', 'name', ['missing the space']],
    ['a plugin without ":" (uWSGI: "invalid alarm syntax")', 'logit log', 'plugin', ['missing ":" after the plugin in "log"']],
    ['an empty name', ' log:', 'name', ['empty alarm name']],
    ['a name with "/"', 'a/b log:', 'name', ['alarm name "a/b"', 'only letters, digits, _ - .']],
    ['a name with ":"', 'a:b log:', 'name', ['alarm name "a:b"']],
    ['a non-ASCII name', 'caf\u00e9 log:', 'name', ['alarm name "caf\u00e9"']],
    ['an unknown plugin, listing the known ones (uWSGI: "invalid alarm")', 'x mail:root', 'plugin', ['unknown plugin "mail"', 'known: log, cmd']],
    ['a uWSGI plugin we do not have', 'x signal:17', 'plugin', ['unknown plugin "signal"']],
    ['a plugin in the wrong case', 'x LOG:', 'plugin', ['unknown plugin "LOG"']],
    ['a second space before the plugin', 'x  log:', 'plugin', ['unknown plugin " log"']],
    ['an empty plugin', 'x :args', 'plugin', ['unknown plugin ""']],
    ['a plugin that is only an inherited Object property', 'x constructor:', 'plugin', ['unknown plugin "constructor"']],
    ['cmd with no command', 'x cmd:', 'args', ['plugin "cmd" needs a shell command']],
    ['cmd with only spaces', 'x cmd:   ', 'args', ['plugin "cmd" needs a shell command']],
    ['cmd with a NUL character', 'x cmd:echo a\u0000b', 'args', ['command "echo a\\u0000b" contains a NUL character']],
  ])('%s', (_behaviour, spec, key, parts) => {
    const error = specError(() => parseAlarmSpec(spec));
    expect(error.spec).toBe(spec);
    expect(error.key).toBe(key);
    expect(error.message).toContain(JSON.stringify(spec));
    for (const part of parts) expect(error.message).toContain(part);
  });
});

describe('isValidAlarmName', () => {
  it.each<[string, boolean]>([
    ['logit', true],
    ['A-z_0.9', true],
    ['', false],
    ['a b', false],
    ['a/b', false],
    ['a,b', false],
    ['a:b', false],
  ])('%j → %s', (name, valid) => {
    expect(isValidAlarmName(name)).toBe(valid);
  });
});

describe('the object form', () => {
  it('defaults args to empty', () => {
    expect(normalizeAlarmDefinition({ name: 'logit', plugin: 'log' })).toStrictEqual({ name: 'logit', plugin: 'log', args: '' });
  });

  it.each(['logit log:', 'logpfx log:PFX here', 'c cmd:cat > /dev/null; echo a:b'])('round-trips %j through format and parse', (spec) => {
    const parsed = parseAlarmSpec(spec);
    expect(formatAlarmSpec(parsed)).toBe(spec);
    expect(normalizeAlarmDefinition(parsed)).toStrictEqual(parsed);
  });

  it.each<[string, AlarmDefinitionInput, string, string]>([
    ['a name with a space', { name: 'a b', plugin: 'log' }, 'name', 'alarm name "a b"'],
    ['an empty name', { name: '', plugin: 'log' }, 'name', 'empty alarm name'],
    ['an unknown plugin', { name: 'a', plugin: 'mail' as never }, 'plugin', 'unknown plugin "mail"'],
    ['cmd without a command', { name: 'a', plugin: 'cmd' }, 'args', 'plugin "cmd" needs a shell command'],
    ['args that are not a string', { name: 'a', plugin: 'log', args: 5 as never }, 'args', 'args must be a string, not number'],
  ])('rejects %s', (_behaviour, input, key, part) => {
    const error = specError(() => normalizeAlarmDefinition(input));
    expect(error.key).toBe(key);
    expect(error.message).toContain(part);
  });
});

it('knows exactly the log and cmd plugins', () => {
  expect(Object.keys(ALARM_PLUGINS)).toEqual(['log', 'cmd']);
});
