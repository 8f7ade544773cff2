/**
 * `cmd:COMMAND`: runs COMMAND with `/bin/sh -c` for each message, the exact message bytes on its stdin
 * followed by EOF. Asynchronous: the caller never waits for the command. Whatever the command prints,
 * and how it failed, goes to `log` as `alarm <name>: ...`; nothing is thrown.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { AlarmPlugin, AlarmPluginContext } from '../alarm-plugin';

/** Commands of one alarm running at once, at most: a command that hangs must not pile up processes. */
export const MAX_RUNNING_COMMANDS = 4;

export class CmdAlarmPlugin implements AlarmPlugin {
  static argsProblem(args: string): string | undefined {
    if (args.trim() === '') return 'plugin "cmd" needs a shell command after "cmd:"';
    if (args.includes('\0')) return `command ${JSON.stringify(args)} contains a NUL character`;
    return undefined;
  }

  private readonly running = new Set<Promise<void>>();

  constructor(private readonly context: AlarmPluginContext) {}

  deliver(msg: string): void {
    if (this.running.size >= MAX_RUNNING_COMMANDS) {
      this.log(`${MAX_RUNNING_COMMANDS} commands still running, message dropped: ${JSON.stringify(msg)}`);
      return;
    }
    const done: Promise<void> = this.run(msg).finally(() => this.running.delete(done));
    this.running.add(done);
  }

  async close(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Resolves (never rejects) once the command has ended or could not start. */
  private run(msg: string): Promise<void> {
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn('/bin/sh', ['-c', this.context.args], { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (error) {
        this.log(`cannot run command: ${(error as Error).message}`);
        return resolve();
      }
      let failed = false;
      child.on('error', (error) => {
        if (!failed) this.log(`cannot run command: ${error.message}`);
        failed = true;
        resolve();
      });
      // 'close' comes after both output streams ended, so the command's own lines are logged first.
      child.on('close', (code, signal) => {
        if (!failed && signal !== null) this.log(`command killed by ${signal}`);
        else if (!failed && code !== 0) this.log(`command exited with code ${code}`);
        resolve();
      });
      this.logLines(child.stdout!);
      this.logLines(child.stderr!);
      // A command that exits without reading its message closes the pipe first (EPIPE): its exit code
      // is what tells whether it worked.
      child.stdin!.on('error', () => {});
      child.stdin!.end(msg);
    });
  }

  private logLines(stream: Readable): void {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.log(line));
  }

  private log(text: string): void {
    this.context.log(`alarm ${this.context.name}: ${text}`);
  }
}
