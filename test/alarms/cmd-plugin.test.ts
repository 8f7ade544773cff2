import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmDispatcher } from '../../src/alarms/alarm-dispatcher';
import { CmdAlarmPlugin, MAX_RUNNING_COMMANDS } from '../../src/alarms/plugins/cmd';
import { parseThresholdSpec } from '../../src/spec/threshold-spec';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shmetrics-cmd-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A dispatcher holding the alarm `cmdit` that runs `command`, and the log lines it wrote. */
function cmdAlarm(command: string) {
  const lines: string[] = [];
  const dispatcher = new AlarmDispatcher({ log: (line) => lines.push(line) });
  dispatcher.add(`cmdit cmd:${command}`);
  return { dispatcher, lines };
}

const sh = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

describe('the cmd plugin', () => {
  it('gives the command the exact message on stdin with no trailing newline (fact sheet t2)', async () => {
    const file = path.join(dir, 'got');
    const { dispatcher, lines } = cmdAlarm(`cat > ${sh(file)}`);
    const { msg } = parseThresholdSpec('key=t2,value=10,alarm=cmdit,msg=t2 is too high\\, really,rate=4');
    dispatcher.deliver('cmdit', msg!);
    await dispatcher.close();
    expect(readFileSync(file)).toEqual(Buffer.from('t2 is too high, really'));
    expect(lines).toEqual([]);
  });

  it('passes multi-byte characters and inner newlines byte for byte', async () => {
    const file = path.join(dir, 'got');
    const { dispatcher } = cmdAlarm(`cat > ${sh(file)}`);
    const msg = 'caf\u00e9 \u2603\nsecond line\n\n';
    dispatcher.deliver('cmdit', msg);
    await dispatcher.close();
    expect(readFileSync(file)).toEqual(Buffer.from(msg, 'utf8'));
  });

  it('returns from deliver before the command has run', async () => {
    const file = path.join(dir, 'got');
    const { dispatcher } = cmdAlarm(`sleep 0.3; cat > ${sh(file)}`);
    const started = performance.now();
    expect(dispatcher.deliver('cmdit', 'm')).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
    expect(existsSync(file)).toBe(false);
    await dispatcher.close();
    expect(readFileSync(file, 'utf8')).toBe('m');
  });

  it('logs what the command prints on stdout and stderr, line by line, prefixed with the alarm', async () => {
    const { dispatcher, lines } = cmdAlarm(
      // Two pipes are read independently: the pauses make the order of the lines certain.
      `cat > /dev/null; printf 'one\\ntwo\\n'; sleep 0.1; printf 'oops\\n' >&2; sleep 0.1; printf 'last'`,
    );
    dispatcher.deliver('cmdit', 'm');
    await dispatcher.close();
    expect(lines).toEqual(['alarm cmdit: one', 'alarm cmdit: two', 'alarm cmdit: oops', 'alarm cmdit: last']);
  });

  it('logs a non-zero exit once instead of throwing', async () => {
    const { dispatcher, lines } = cmdAlarm('exit 3');
    expect(() => dispatcher.deliver('cmdit', 'm')).not.toThrow();
    await dispatcher.close();
    expect(lines).toEqual(['alarm cmdit: command exited with code 3']);
  });

  it('logs a command the shell cannot find, with its exit code 127', async () => {
    const { dispatcher, lines } = cmdAlarm('shmetrics-no-such-command-xyz');
    dispatcher.deliver('cmdit', 'm');
    await dispatcher.close();
    expect(lines.at(-1)).toBe('alarm cmdit: command exited with code 127');
    expect(lines.slice(0, -1).join('\n')).toContain('shmetrics-no-such-command-xyz');
  });

  it('logs a command killed by a signal', async () => {
    const { dispatcher, lines } = cmdAlarm('kill -TERM $$');
    dispatcher.deliver('cmdit', 'm');
    await dispatcher.close();
    expect(lines).toEqual(['alarm cmdit: command killed by SIGTERM']);
  });

  it('says nothing when a successful command does not read its message (EPIPE)', async () => {
    const { dispatcher, lines } = cmdAlarm('exit 0');
    dispatcher.deliver('cmdit', 'x'.repeat(4 << 20));
    await dispatcher.close();
    expect(lines).toEqual([]);
  });

  it('logs a command that cannot be spawned instead of throwing', async () => {
    const lines: string[] = [];
    // The spec parser refuses a NUL; built directly, spawn() itself refuses it.
    const plugin = new CmdAlarmPlugin({ name: 'bad', args: 'echo a\u0000b', log: (line) => lines.push(line) });
    expect(() => plugin.deliver('m')).not.toThrow();
    await plugin.close();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^alarm bad: cannot run command: /);
  });

  it(`runs at most ${MAX_RUNNING_COMMANDS} commands of one alarm at once, dropping and logging the rest`, async () => {
    const release = path.join(dir, 'release');
    const out = path.join(dir, 'out');
    const { dispatcher, lines } = cmdAlarm(
      `cat > ${sh(out)}.$$; while [ ! -e ${sh(release)} ]; do sleep 0.02; done; echo done`,
    );
    const messages = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    expect(messages.map((msg) => dispatcher.deliver('cmdit', msg))).toEqual([true, true, true, true, true, true]);
    expect(lines).toEqual([
      `alarm cmdit: ${MAX_RUNNING_COMMANDS} commands still running, message dropped: "m5"`,
      `alarm cmdit: ${MAX_RUNNING_COMMANDS} commands still running, message dropped: "m6"`,
    ]);

    writeFileSync(release, '');
    await dispatcher.close();
    const outputs = readdirSync(dir).filter((name) => name.startsWith('out.'));
    expect(outputs.map((name) => readFileSync(path.join(dir, name), 'utf8')).sort()).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(lines.filter((line) => line === 'alarm cmdit: done')).toHaveLength(MAX_RUNNING_COMMANDS);

    // The slots are free again once the commands have ended.
    dispatcher.deliver('cmdit', 'm7');
    await dispatcher.close();
    expect(readdirSync(dir).filter((name) => name.startsWith('out.'))).toHaveLength(5);
  });

  it('counts the cap per alarm: another alarm still runs its command', async () => {
    const release = path.join(dir, 'release');
    const other = path.join(dir, 'other');
    const lines: string[] = [];
    const dispatcher = new AlarmDispatcher({ log: (line) => lines.push(line) });
    dispatcher.add(`stuck cmd:cat > /dev/null; while [ ! -e ${sh(release)} ]; do sleep 0.02; done`);
    dispatcher.add(`free cmd:cat > ${sh(other)}`);
    for (let i = 0; i <= MAX_RUNNING_COMMANDS; i++) dispatcher.deliver('stuck', `m${i}`);
    dispatcher.deliver('free', 'ok');
    await expect.poll(() => existsSync(other) && readFileSync(other, 'utf8')).toBe('ok');
    expect(lines).toEqual([`alarm stuck: ${MAX_RUNNING_COMMANDS} commands still running, message dropped: "m${MAX_RUNNING_COMMANDS}"`]);
    writeFileSync(release, '');
    await dispatcher.close();
  });
});
