/**
 * `rrdtool:DIR[,key=value...]`: one RRD file per metric, `DIR/<name>.rrd`, written by one long-lived
 * `rrdtool -` child in pipe mode (create and update commands on its stdin, one `OK`/`ERROR` line back for
 * each). A file is created the first time its metric is pushed (`--no-overwrite`: an existing file is
 * kept), with uWSGI's layout: one data source named `metric`, heartbeat 2 × step, and the archives
 * RRA:AVERAGE:0.5:1:288, :12:168, :288:31, :2016:52 (a day, a week, a month and a year at step 300).
 *
 * Types: DERIVE (min 0) for counters and aliases, as uWSGI; GAUGE for gauges and absolutes, with min `U`
 * (uWSGI's min 0 stores a negative gauge as unknown). uWSGI's plugin dlopens `librrd.so`, which Debian
 * does not ship, and then silently does nothing; here a missing or dying rrdtool is logged once and
 * restarted with backoff while the updates wait in a queue capped in bytes (oldest dropped, counted).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Pusher, PusherContext, PusherFactory, PushSample, PushSnapshot } from './pusher';
import { Backoff, type DeliveryOptions, describeError, keyedItems, parseDeliveryKeys, PeerHealth, pieceBytesFor, pusherArgs } from './tcp-sender';
import { FormattingQueue, IdleWaiters } from './idle-waiters';

/**
 * Samples formatted per turn of the event loop (about a millisecond at most, even before the JIT has warmed up).
 * The first slice, too, waits for the next turn: push() itself only queues the snapshot.
 */
export const RRDTOOL_SLICE_SAMPLES = 250;
/** uWSGI's archives, verbatim: at step 300, a day of 5-minute, a week of hourly, a month of daily, a year of weekly averages. */
export const RRD_ARCHIVES = [
  'RRA:AVERAGE:0.5:1:288',
  'RRA:AVERAGE:0.5:12:168',
  'RRA:AVERAGE:0.5:288:31',
  'RRA:AVERAGE:0.5:2016:52',
] as const;
export const RRDTOOL_DEFAULTS = {
  /** uWSGI's default step (and --rrdtool-freq): 300 s. */
  stepSeconds: 300,
  command: 'rrdtool',
  /** An rrdtool that answers nothing for this long while commands wait is killed and started again. */
  timeoutSeconds: 60,
  retryDelaySeconds: 30,
  /** About 12 pushes of 10,000 metrics (the first, with its creates, counts for 4). */
  maxQueueBytes: 8 * 1024 * 1024,
} as const;
/** Answers read per turn of the event loop (a fast rrdtool answers thousands in one read). */
const ANSWERS_PER_TURN = 1000;
/** close() waits at most this long for the queue to be written and rrdtool to exit. */
const CLOSE_TIMEOUT_MS = 10_000;
/** Only names that need no quoting in a pipe-mode command line and make a plain file name. */
const SAFE_NAME = /^[0-9A-Za-z._-]+$/;

export interface RrdtoolOptions extends DeliveryOptions {
  /** Absolute. */
  dir: string;
  stepSeconds: number;
  command: string;
}

const KEYS = ['step', 'rrdtool', 'timeout', 'retry_delay', 'max_queue'] as const;

/** Parses the text after `rrdtool:`; throws PushSpecError naming the bad value. */
export function parseRrdtoolArgs(args: string): RrdtoolOptions {
  const { items, fail } = pusherArgs('rrdtool', args);
  if (items.length === 0 || items[0].value !== undefined || items[0].key === '') {
    fail('rrdtool needs the directory of the RRD files first: rrdtool:DIR');
  }
  const dir = items[0].key;
  if (dir.includes('\0')) fail(`directory ${JSON.stringify(dir)} contains a NUL character`);
  const values = keyedItems(
    items.slice(1),
    KEYS,
    fail,
    (key) => `unknown item ${JSON.stringify(key)} (rrdtool takes DIR, then ${KEYS.join(', ')}; freq, allow and forbid are the scheduler's)`,
  );
  const stepText = values.get('step');
  let stepSeconds: number = RRDTOOL_DEFAULTS.stepSeconds;
  if (stepText !== undefined) {
    if (!/^[1-9]\d{0,7}$/.test(stepText)) fail(`step=${JSON.stringify(stepText)} is not a whole number of seconds >= 1`);
    stepSeconds = Number(stepText);
  }
  const command = values.get('rrdtool') ?? RRDTOOL_DEFAULTS.command;
  if (command === '') fail('rrdtool= needs a command');
  return {
    dir: path.resolve(dir),
    stepSeconds,
    command,
    ...parseDeliveryKeys(values, RRDTOOL_DEFAULTS, fail),
  };
}

/** The data source type of a metric's RRD: rates for counters, levels for the rest. */
export function rrdDataSource(type: PushSample['type'], stepSeconds: number): string {
  const heartbeat = stepSeconds * 2;
  // DERIVE keeps min 0: a counter that restarts from 0 gives unknown, not a huge negative rate.
  return type === 'gauge' || type === 'absolute' ? `DS:metric:GAUGE:${heartbeat}:U:U` : `DS:metric:DERIVE:${heartbeat}:0:U`;
}

/** Some commands; `ops[i]` names the metric of command i, with a `+` in front for a create. */
interface Piece {
  readonly data: Buffer;
  readonly ops: string[];
  readonly updates: number;
  /** Whether it is the last piece of its push. */
  readonly last: boolean;
}

export class RrdtoolPusher implements Pusher {
  private readonly label: string;
  private readonly health: PeerHealth;
  private readonly backoff: Backoff;
  /** Metrics whose file was created (or found) by this pusher. */
  private readonly created = new Set<string>();
  private readonly queue: Piece[] = [];
  private queued = 0;
  /** Written to rrdtool, oldest first; `answered` counts the answers to inFlight[0]'s commands. */
  private inFlight: Piece[] = [];
  private answered = 0;
  private child?: ChildProcess;
  /** The child is running (its 'spawn' event came). */
  private spawned = false;
  private starting = false;
  private retryTimer?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private startedAt = 0;
  private readonly formatting = new FormattingQueue<PushSnapshot>(
    (snapshot) => this.format(snapshot),
    (error) => this.context.log(`${this.context.instance}: cannot format a push: ${error.message}`),
  );
  /** Commands are queued, dropped and written in pieces of about this many bytes. */
  private readonly pieceBytes: number;
  private skippedLogged = false;
  /** Errors of the push being answered; the state changes once per push, never per command. */
  private pushErrors = 0;
  private firstPushError = '';
  private failing = false;
  private failedWhileFailing = 0;
  private stdoutRest = '';
  private lastStderr = '';
  /** Answers read in the current turn of the event loop, and whether more are waiting for the next one. */
  private turnAnswers = 0;
  private outputWaiting = false;
  private pausedStdout?: NodeJS.ReadableStream;
  /** Why we killed the running rrdtool, if we did. */
  private killedBecause?: string;
  private closing = false;
  private closed = false;
  private readonly idle = new IdleWaiters();

  constructor(readonly options: RrdtoolOptions, private readonly context: PusherContext) {
    this.label = `${context.instance} ${options.dir}`;
    this.pieceBytes = pieceBytesFor(options.maxQueueBytes);
    this.backoff = new Backoff(options.retryDelaySeconds * 1000);
    this.health = new PeerHealth({
      label: this.label,
      unit: 'updates',
      recovered: 'rrdtool answers again',
      maxQueueBytes: options.maxQueueBytes,
      maxRetryMs: options.retryDelaySeconds * 1000,
      log: (message) => context.log(message),
      dropped: (count) => context.dropped(count),
    });
  }

  /** Bytes of commands waiting for rrdtool (for tests and diagnostics). */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Commands not answered yet (queued or written), plus one per push not yet turned into commands. */
  get pendingCommands(): number {
    let commands = this.formatting.pending;
    for (const piece of this.queue) commands += piece.ops.length;
    for (const piece of this.inFlight) commands += piece.ops.length;
    return commands - this.answered;
  }

  /** The running rrdtool's process id (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  push(snapshot: PushSnapshot): void {
    if (this.closed) return;
    this.formatting.add(snapshot);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.formatting.drained();
    this.closing = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    const budget = Math.min(CLOSE_TIMEOUT_MS, this.options.timeoutSeconds * 1000);
    const deadline = Date.now() + budget;
    if (this.queue.length > 0 && this.child === undefined && !this.starting) void this.start();
    this.refChild();
    await this.waitIdle(deadline);
    const child = this.child;
    if (child) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
        child.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        // End of input: rrdtool answers what it has read, then exits.
        child.stdin!.end();
      });
    }
    const left = this.queue.reduce((sum, piece) => sum + piece.updates, 0) + this.inFlight.reduce((sum, piece) => sum + piece.updates, 0);
    this.queue.length = 0;
    this.inFlight = [];
    this.queued = 0;
    if (left > 0) {
      this.context.dropped(left);
      this.context.log(`${this.label}: closed with ${left} updates not done`);
    }
  }

  private async format(snapshot: PushSnapshot): Promise<void> {
    const when = (snapshot.takenAtMs / 1000).toFixed(3);
    const start = Math.floor(snapshot.takenAtMs / 1000) - 1;
    const createTail = ` --start ${start} --step ${this.options.stepSeconds} --no-overwrite `;
    const archives = ` ${RRD_ARCHIVES.join(' ')}\n`;
    const samples = snapshot.samples;
    let text = '';
    let ops: string[] = [];
    let updates = 0;
    const pieces: Omit<Piece, 'last'>[] = [];
    for (let i = 0; i < samples.length; i++) {
      if (i % RRDTOOL_SLICE_SAMPLES === 0) await nextTurn();
      const { name, type, value } = samples[i];
      if (!SAFE_NAME.test(name)) {
        if (!this.skippedLogged) this.context.log(`${this.label}: metric ${JSON.stringify(name)} cannot be a file name; skipped`);
        this.skippedLogged = true;
        continue;
      }
      if (!this.created.has(name)) {
        this.created.add(name);
        text += `create ./${name}.rrd${createTail}${rrdDataSource(type, this.options.stepSeconds)}${archives}`;
        ops.push(`+${name}`);
      }
      text += `update ./${name}.rrd ${when}:${value.toString()}\n`;
      ops.push(name);
      updates++;
      if (text.length >= this.pieceBytes) {
        pieces.push({ data: Buffer.from(text), ops, updates });
        text = '';
        ops = [];
        updates = 0;
      }
    }
    if (ops.length > 0) pieces.push({ data: Buffer.from(text), ops, updates });
    pieces.forEach((piece, i) => this.enqueue({ ...piece, last: i === pieces.length - 1 }));
  }

  private enqueue(piece: Piece): void {
    this.queue.push(piece);
    this.queued += piece.data.length;
    this.trim();
    this.pump();
  }

  private trim(): void {
    let updates = 0;
    while (this.queued > this.options.maxQueueBytes && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      this.queued -= oldest.data.length;
      updates += oldest.updates;
      this.forgetCreates(oldest);
    }
    this.health.dropped(updates);
  }

  /** Creates that were never run: the next push of those metrics creates their files again. */
  private forgetCreates(piece: Piece, from = 0): void {
    for (let i = from; i < piece.ops.length; i++) if (piece.ops[i].startsWith('+')) this.created.delete(piece.ops[i].slice(1));
  }

  private pump(): void {
    const child = this.child;
    if (child === undefined) {
      if (!this.starting && this.retryTimer === undefined && this.queue.length > 0) void this.start();
      return;
    }
    if (!this.spawned) return;
    const stdin = child.stdin!;
    while (this.queue.length > 0 && !stdin.writableNeedDrain) {
      const piece = this.queue.shift()!;
      this.queued -= piece.data.length;
      this.inFlight.push(piece);
      stdin.write(piece.data);
    }
    this.armStallTimer();
  }

  private async start(): Promise<void> {
    this.starting = true;
    try {
      await mkdir(this.options.dir, { recursive: true });
    } catch (error) {
      this.starting = false;
      this.failed(`cannot create the directory (${describeError(error)})`);
      return;
    }
    // Files are named relative to DIR, and rrdcached is not used (RRDCACHED_ADDRESS would send every
    // command to a daemon with its own idea of paths).
    const env = { ...process.env };
    delete env.RRDCACHED_ADDRESS;
    const child = spawn(this.options.command, ['-'], { cwd: this.options.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.starting = false;
    this.child = child;
    this.spawned = false;
    this.startedAt = Date.now();
    this.stdoutRest = '';
    this.outputWaiting = false;
    this.lastStderr = '';
    this.killedBecause = undefined;
    if (!this.closing) this.unrefChild();
    let spawnError: Error | undefined;
    child.on('error', (error) => (spawnError = error));
    // Nothing is written before it runs: commands written to an rrdtool that could not start would be lost.
    child.once('spawn', () => {
      this.spawned = true;
      this.pump();
    });
    child.stdin!.on('error', () => {}); // EPIPE when it dies: 'close' below tells what happened.
    child.stdin!.on('drain', () => this.pump());
    child.stdout!.setEncoding('latin1').on('data', (chunk: string) => this.onOutput(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = chunk.trim().split('\n');
      if (lines[lines.length - 1]) this.lastStderr = lines[lines.length - 1];
    });
    child.on('close', (code, signal) => this.onExit(child, spawnError, code, signal));
  }

  private onOutput(chunk: string): void {
    this.stdoutRest += chunk;
    if (!this.outputWaiting) this.readAnswers();
  }

  /**
   * Reads at most ANSWERS_PER_TURN answers per turn of the event loop; the rest waits for the next turn.
   * `all`: everything read so far, at once (rrdtool has exited: what it answered must not count as lost).
   */
  private readAnswers(all = false): void {
    if (this.turnAnswers === 0) {
      setImmediate(() => {
        this.turnAnswers = 0;
        if (!this.outputWaiting) return;
        this.outputWaiting = false;
        this.readAnswers();
        if (!this.outputWaiting) this.pausedStdout?.resume();
      });
    }
    const text = this.stdoutRest;
    let from = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', from)) {
      if (this.turnAnswers >= ANSWERS_PER_TURN && !all) {
        // rrdtool's output waits in the pipe meanwhile.
        this.outputWaiting = true;
        this.pausedStdout = this.child?.stdout ?? undefined;
        this.pausedStdout?.pause();
        break;
      }
      // "OK u:… s:… r:…" or "ERROR: …"; only an error's text is worth a string of its own.
      if (text.startsWith('OK ', from)) this.answer(undefined);
      else if (text.startsWith('ERROR', from)) this.answer(text.slice(from, end).replace(/^ERROR:\s*/, ''));
      this.turnAnswers++;
      from = end + 1;
    }
    this.stdoutRest = from === text.length ? '' : text.slice(from);
    this.armStallTimer(true);
  }

  private answer(error: string | undefined): void {
    const piece = this.inFlight[0];
    if (piece === undefined) return;
    const op = piece.ops[this.answered++];
    this.health.up();
    if (error !== undefined) this.onError(op, error);
    if (this.answered === piece.ops.length) {
      this.inFlight.shift();
      this.answered = 0;
      if (piece.last) this.endOfPush();
      if (this.inFlight.length === 0 && this.queue.length === 0) {
        this.health.caughtUp();
        this.idle.notify();
      }
    }
  }

  private onError(op: string, error: string): void {
    const create = op.startsWith('+');
    const name = create ? op.slice(1) : op;
    if (create && /File exists/.test(error)) return; // an existing file is kept, as intended
    if (create || /No such file/.test(error)) this.created.delete(name); // created again at the next push
    if (this.pushErrors++ === 0) this.firstPushError = `${create ? 'create' : 'update'} ${name}.rrd: ${error}`;
    if (!create) this.failedWhileFailing++;
  }

  /** One state change per push: the first push with errors is logged, then the first without. */
  private endOfPush(): void {
    if (this.pushErrors > 0 && !this.failing) {
      this.failing = true;
      this.context.log(
        `${this.label}: ${this.pushErrors} commands failed, first ${this.firstPushError}; ` +
          'further failures are not logged until a push succeeds',
      );
    } else if (this.pushErrors === 0 && this.failing) {
      this.context.log(`${this.label}: a push succeeded again (${this.failedWhileFailing} updates failed meanwhile)`);
      this.failing = false;
      this.failedWhileFailing = 0;
    }
    if (this.pushErrors === 0) this.failedWhileFailing = 0;
    this.pushErrors = 0;
  }

  private onExit(child: ChildProcess, spawnError: Error | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.readAnswers(true);
    this.child = undefined;
    this.spawned = false;
    this.clearStallTimer();
    // Commands rrdtool read but never answered may or may not have been done: not sent again.
    const first = this.inFlight[0];
    let lost = 0;
    if (first !== undefined) {
      lost = first.ops.slice(this.answered).filter((op) => !op.startsWith('+')).length;
      this.forgetCreates(first, this.answered);
      for (const piece of this.inFlight.slice(1)) {
        lost += piece.updates;
        this.forgetCreates(piece);
      }
    }
    this.inFlight = [];
    this.answered = 0;
    this.pushErrors = 0;
    this.health.lost(lost);
    if (this.closing) {
      this.idle.notify();
      return;
    }
    if (Date.now() - this.startedAt >= 10_000) this.backoff.reset();
    const how = spawnError
      ? `cannot run ${JSON.stringify(this.options.command)} (${describeError(spawnError)})`
      : this.killedBecause !== undefined
        ? this.killedBecause
        : signal !== null
          ? `rrdtool was killed by ${signal}`
          : `rrdtool exited with code ${code}${this.lastStderr ? ` (${this.lastStderr})` : ''}`;
    this.failed(how);
  }

  private failed(reason: string): void {
    this.health.down(reason);
    if (this.closing) {
      this.idle.notify();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.backoff.next());
    this.retryTimer.unref();
  }

  /** Kills an rrdtool that answers nothing for `timeout` while commands wait (a hung disk, a stopped process). */
  private armStallTimer(progress = false): void {
    if (progress) this.clearStallTimer();
    if (this.inFlight.length === 0) return this.clearStallTimer();
    if (this.stallTimer !== undefined) return;
    const child = this.child;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (child !== undefined && this.child === child) {
        this.killedBecause = `rrdtool answered nothing for ${this.options.timeoutSeconds} s and was killed`;
        child.kill('SIGKILL');
      }
    }, this.options.timeoutSeconds * 1000);
    this.stallTimer.unref();
  }

  private clearStallTimer(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private unrefChild(): void {
    const child = this.child;
    if (!child) return;
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
  }

  private refChild(): void {
    const child = this.child;
    if (!child) return;
    child.ref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { ref?: () => void }).ref?.();
  }

  private waitIdle(deadline: number): Promise<void> {
    return this.idle.wait(
      () => (this.queue.length === 0 && this.inFlight.length === 0) || (this.child === undefined && !this.starting),
      deadline,
    );
  }
}

export const createRrdtoolPusher: PusherFactory = (args, context) => new RrdtoolPusher(parseRrdtoolArgs(args), context);
