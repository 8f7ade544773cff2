import { describe, expect, it } from 'vitest';
import { AlarmDispatcher, AlarmDispatcherOptions } from '../../src/alarms/alarm-dispatcher';
import { AlarmSpecError } from '../../src/errors';

/** A dispatcher with `log:` alarms, a clock the test moves, and the log lines it wrote. */
function setup(alarms: string[] = ['logit log:'], options: Partial<AlarmDispatcherOptions> = {}) {
  const lines: string[] = [];
  let nowMs = 1_000_000;
  const dispatcher = new AlarmDispatcher({ log: (line) => lines.push(line), now: () => nowMs, ...options });
  for (const alarm of alarms) dispatcher.add(alarm);
  return {
    dispatcher,
    lines,
    /** Moves the clock to `ms` after the start. */
    at(ms: number) {
      nowMs = 1_000_000 + ms;
    },
  };
}

describe('the log plugin', () => {
  it('writes "ALARM: <msg>" for log: without an argument', () => {
    const { dispatcher, lines } = setup(['logit log:']);
    dispatcher.deliver('logit', 't1');
    expect(lines).toEqual(['ALARM: t1']);
  });

  it('writes "ALARM: <arg> <msg>" for log:<arg>', () => {
    const { dispatcher, lines } = setup(['logpfx log:PFX here']);
    dispatcher.deliver('logpfx', 't4');
    expect(lines).toEqual(['ALARM: PFX here t4']);
  });

  it('does not double a newline the message already ends with', () => {
    const { dispatcher, lines } = setup();
    dispatcher.deliver('logit', 'line\n');
    expect(lines).toEqual(['ALARM: line']);
  });
});

describe('the anti-loop', () => {
  it.each<[string, number, boolean]>([
    ['drops the identical message right away', 0, false],
    ['drops the identical message 2.999 s later', 2999, false],
    ['delivers the identical message again 3 s later', 3000, true],
    ['delivers the identical message again 10 s later', 10_000, true],
  ])('%s', (_behaviour, laterMs, delivered) => {
    const { dispatcher, at } = setup();
    expect(dispatcher.deliver('logit', 'same')).toBe(true);
    at(laterMs);
    expect(dispatcher.deliver('logit', 'same')).toBe(delivered);
  });

  it('raises a threshold crossed on every 1 s tick once every 3 s, as uWSGI did with t1', () => {
    const { dispatcher, lines, at } = setup();
    const deliveredAt: number[] = [];
    for (let second = 0; second <= 10; second++) {
      at(second * 1000);
      if (dispatcher.deliver('logit', 't1')) deliveredAt.push(second);
    }
    expect(deliveredAt).toEqual([0, 3, 6, 9]);
    expect(lines).toEqual(['ALARM: t1', 'ALARM: t1', 'ALARM: t1', 'ALARM: t1']);
  });

  it('counts the period from the last delivery, not from the first drop', () => {
    const { dispatcher, at } = setup();
    dispatcher.deliver('logit', 'm');
    at(2000);
    expect(dispatcher.deliver('logit', 'm')).toBe(false);
    at(3000);
    expect(dispatcher.deliver('logit', 'm')).toBe(true);
    at(5999);
    expect(dispatcher.deliver('logit', 'm')).toBe(false);
    at(6000);
    expect(dispatcher.deliver('logit', 'm')).toBe(true);
  });

  it('always delivers a message different from the previous one', () => {
    const { dispatcher, lines } = setup();
    expect(['a', 'b', 'a', 'b'].map((msg) => dispatcher.deliver('logit', msg))).toEqual([true, true, true, true]);
    expect(lines).toEqual(['ALARM: a', 'ALARM: b', 'ALARM: a', 'ALARM: b']);
  });

  it('keeps one previous message per alarm, not one for all alarms', () => {
    const { dispatcher, lines } = setup(['one log:1', 'two log:2']);
    expect(dispatcher.deliver('one', 'same')).toBe(true);
    expect(dispatcher.deliver('two', 'same')).toBe(true);
    expect(dispatcher.deliver('one', 'same')).toBe(false);
    expect(dispatcher.deliver('two', 'same')).toBe(false);
    expect(lines).toEqual(['ALARM: 1 same', 'ALARM: 2 same']);
  });

  it('uses alarmFreqSeconds as the period', () => {
    const { dispatcher, at } = setup(['logit log:'], { alarmFreqSeconds: 10 });
    dispatcher.deliver('logit', 'm');
    at(9999);
    expect(dispatcher.deliver('logit', 'm')).toBe(false);
    at(10_000);
    expect(dispatcher.deliver('logit', 'm')).toBe(true);
  });

  it('is off with alarmFreqSeconds 0', () => {
    const { dispatcher } = setup(['logit log:'], { alarmFreqSeconds: 0 });
    expect([1, 2, 3].map(() => dispatcher.deliver('logit', 'm'))).toEqual([true, true, true]);
  });
});

describe('defining alarms', () => {
  it('lists alarm names in definition order', () => {
    const { dispatcher } = setup(['b log:', 'a cmd:true']);
    expect(dispatcher.names()).toEqual(['b', 'a']);
    expect(dispatcher.has('a')).toBe(true);
    expect(dispatcher.has('c')).toBe(false);
  });

  it('accepts the object form', () => {
    const { dispatcher, lines } = setup([]);
    dispatcher.add({ name: 'obj', plugin: 'log', args: 'P' });
    dispatcher.deliver('obj', 'm');
    expect(lines).toEqual(['ALARM: P m']);
  });

  it('rejects a second alarm of the same name, naming it', () => {
    const { dispatcher } = setup(['logit log:']);
    expect(() => dispatcher.add('logit cmd:true')).toThrow(AlarmSpecError);
    expect(() => dispatcher.add('logit cmd:true')).toThrow('"logit cmd:true": alarm "logit" is already defined');
    expect(() => dispatcher.add({ name: 'logit', plugin: 'log', args: '' })).toThrow('alarm "logit" is already defined');
  });

  it('rejects an invalid spec with the AlarmSpecError of parseAlarmSpec', () => {
    const { dispatcher } = setup([]);
    expect(() => dispatcher.add('x mail:root')).toThrow(AlarmSpecError);
    expect(() => dispatcher.add('x mail:root')).toThrow('unknown plugin "mail"');
    expect(dispatcher.names()).toEqual([]);
  });

  it('throws RangeError naming an alarm never added, and the defined ones', () => {
    const { dispatcher } = setup(['logit log:']);
    expect(() => dispatcher.deliver('nope', 'm')).toThrow(RangeError);
    expect(() => dispatcher.deliver('nope', 'm')).toThrow('unknown alarm "nope" (defined: logit)');
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects alarmFreqSeconds %s', (alarmFreqSeconds) => {
    expect(() => new AlarmDispatcher({ log: () => {}, alarmFreqSeconds })).toThrow(RangeError);
    expect(() => new AlarmDispatcher({ log: () => {}, alarmFreqSeconds })).toThrow(`not ${alarmFreqSeconds}`);
  });

  it('closes at once with no command running', async () => {
    await expect(setup(['logit log:', 'c cmd:true']).dispatcher.close()).resolves.toBeUndefined();
  });
});
