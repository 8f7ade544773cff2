/**
 * The file pusher: `--stats-push file:path=P[,separator=S][,max_queue=BYTES]` (`freq=N` is the scheduler's,
 * as in uWSGI's `file:path=P,freq=N,separator=S`).
 *
 * At every push it appends one JSON document of all metrics, then the separator (default "\n\n"), to P
 * (default `shmetrics.stats`, relative to the working directory when the pusher is added; uWSGI's is
 * `uwsgi.stats`). P is opened in append mode at every push, created with mode 0640 less the umask as uWSGI
 * does, so a rotated file is simply created again. The document is uWSGI's stats-server "metrics" object
 * (name -> type code, oid, value), written on one line, with the time the values were read:
 *
 *   {"taken_at_ms":1795266579330,"metrics":{"hits":{"type":0,"oid":"","value":5},"temp":{"type":1,"oid":"100.1","value":-42}}}
 *
 * Values are 64-bit integers written exactly; JSON.parse in JavaScript rounds those beyond 2^53.
 */

import fs from 'node:fs';
import path from 'node:path';
import { PushSpecError } from '../errors';
import { parseKeyval, type KeyvalItem } from '../spec/keyval';
import { METRIC_TYPES } from '../spec/metric-spec';
import type { PushSample, PushSnapshot, Pusher, PusherContext, PusherFactory } from './pusher';
import { requestSlice } from './udp-sender';

export const FILE_DEFAULT_PATH = 'shmetrics.stats';
export const FILE_DEFAULT_SEPARATOR = '\n\n';
/** Default cap on documents waiting for a slow or failing file: about 14 documents of 10,000 metrics. */
export const FILE_DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
/** uWSGI's mode; the umask applies. */
export const FILE_MODE = 0o640;
/** Pushes waiting to be built into documents; past this the oldest is dropped (see udp-sender's MAX_PENDING_PUSHES). */
const MAX_PENDING_PUSHES = 4;
/** Metrics formatted between two looks at the clock. */
const ENTRIES_PER_CLOCK_CHECK = 32;
/** Retry delays after a failed append: doubling from the first to the last. */
export const FILE_BACKOFF_MIN_MS = 250;
export const FILE_BACKOFF_MAX_MS = 30_000;
/** How long close() waits for the last documents to be written before dropping (and counting) them. */
export const FILE_CLOSE_TIMEOUT_MS = 5_000;

export interface FilePusherOptions {
  /** Absolute. */
  path: string;
  separator: string;
  maxQueueBytes: number;
}

const q = (text: string): string => JSON.stringify(text);

/** Parses the ARGS of `file:ARGS` (keyval items only, as uWSGI's). Throws PushSpecError naming the bad item. */
export function parseFileArgs(args: string, cwd = process.cwd()): FilePusherOptions {
  const spec = `file:${args}`;
  let items: KeyvalItem[];
  try {
    items = parseKeyval(args);
  } catch (error) {
    throw new PushSpecError(spec, (error as Error).message);
  }
  const known = ['path', 'separator', 'max_queue'];
  const given = new Map<string, string>();
  for (const { key, value } of items) {
    if (value === undefined)
      throw new PushSpecError(spec, `${q(key)} is not a key=value item (expected file:path=P[,separator=S][,freq=N])`);
    if (!known.includes(key)) throw new PushSpecError(spec, `unknown key ${q(key)} (known: ${known.join(', ')}, and freq, allow, forbid)`);
    if (given.has(key)) throw new PushSpecError(spec, `${key} is given twice`);
    given.set(key, value);
  }
  const file = given.get('path') ?? FILE_DEFAULT_PATH;
  if (file === '') throw new PushSpecError(spec, 'empty path');
  let maxQueueBytes = FILE_DEFAULT_MAX_QUEUE_BYTES;
  const maxQueue = given.get('max_queue');
  if (maxQueue !== undefined) {
    maxQueueBytes = /^\d+$/.test(maxQueue) ? Number(maxQueue) : NaN;
    if (!(maxQueueBytes >= 1 && Number.isSafeInteger(maxQueueBytes)))
      throw new PushSpecError(spec, `max_queue ${q(maxQueue)} must be a positive integer`);
  }
  return { path: path.resolve(cwd, file), separator: given.get('separator') ?? FILE_DEFAULT_SEPARATOR, maxQueueBytes };
}

/** A document as the buffers it was built in (each encoded within a slice: no long encoding at write time). */
interface Document {
  chunks: Buffer[];
  bytes: number;
  values: number;
}

export class FilePusher implements Pusher {
  private readonly building: DocumentBuilder[] = [];
  private readonly queue: Document[] = [];
  private queued = 0;
  private writing?: Document;
  /** Whether the last append worked; undefined before the first. */
  private writable?: boolean;
  private retryTimer?: NodeJS.Timeout;
  private backoffMs = FILE_BACKOFF_MIN_MS;
  private droppedWhileFailing = 0;
  private behindLogged = false;
  private bugLogged = false;
  private closing?: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout };
  private closed = false;

  constructor(
    readonly options: FilePusherOptions,
    private readonly context: PusherContext,
  ) {}

  /** Bytes of documents waiting to be written (the one being written included). */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Nothing waits to be built or written. */
  get idle(): boolean {
    return this.building.length === 0 && !this.writing && this.queue.length === 0;
  }

  push(snapshot: PushSnapshot): void {
    if (this.closed || this.closing) {
      this.drop(snapshot.samples.length);
      return;
    }
    this.building.push(new DocumentBuilder(snapshot, this.options.separator));
    if (this.building.length > MAX_PENDING_PUSHES) {
      const oldest = this.building.shift()!;
      if (!this.behindLogged) {
        this.behindLogged = true;
        this.context.log('pushes come faster than the event loop lets documents be built; the oldest waiting push is dropped');
      }
      this.drop(oldest.values);
    }
    this.kick();
  }

  close(): Promise<void> {
    if (this.closing) return this.closing.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.closing = { promise, resolve, timer: setTimeout(() => this.finishClose(), FILE_CLOSE_TIMEOUT_MS) };
    this.checkClosed();
    return promise;
  }

  private kick(): void {
    if (this.building.length > 0 && !this.closed) requestSlice(this.slice);
  }

  /** This pusher's share of a turn of the event loop (shared with the other pushers: see requestSlice). */
  private readonly slice = (deadline: number): void => {
    const builder = this.building[0];
    if (!builder || this.closed) return;
    try {
      if (builder.build(deadline)) {
        this.building.shift();
        this.append({ chunks: builder.chunks, bytes: builder.bytes, values: builder.values });
      }
    } catch (error) {
      // A bug, not a file problem: log it once and drop that push.
      if (!this.bugLogged) this.context.log(`internal error, a document is dropped: ${(error as Error).stack ?? String(error)}`);
      this.bugLogged = true;
      if (this.building[0] === builder) this.building.shift();
      this.drop(builder.values);
    }
    this.kick();
  };

  private append(document: Document): void {
    this.queue.push(document);
    this.queued += document.bytes;
    this.enforceCap();
    this.write();
  }

  /** Drops the oldest waiting documents past the cap; the newest stays, and so does the one being written. */
  private enforceCap(): void {
    while (this.queued > this.options.maxQueueBytes && this.queue.length > 1) {
      const oldest = this.queue.shift()!;
      this.queued -= oldest.bytes;
      this.drop(oldest.values);
    }
  }

  private write(): void {
    if (this.writing || this.retryTimer || this.queue.length === 0 || this.closed) {
      this.checkClosed();
      return;
    }
    const document = this.queue.shift()!;
    this.writing = document;
    appendChunks(this.options.path, document.chunks).then(
      () => this.written(document),
      (error: NodeJS.ErrnoException) => this.failed(document, error),
    );
  }

  private written(document: Document): void {
    this.writing = undefined;
    this.queued -= document.bytes;
    if (this.writable === false)
      this.context.log(`appending to ${this.options.path} again; ${this.droppedWhileFailing} values were dropped while it failed`);
    this.writable = true;
    this.droppedWhileFailing = 0;
    this.backoffMs = FILE_BACKOFF_MIN_MS;
    this.write();
  }

  private failed(document: Document, error: NodeJS.ErrnoException): void {
    this.writing = undefined;
    if (this.closed) return;
    // Retried first when the file works again; the cap may still drop it if newer documents pile up.
    this.queue.unshift(document);
    if (this.writable !== false)
      this.context.log(
        `cannot append to ${this.options.path} (${error.code ?? error.message}); keeping up to ${this.options.maxQueueBytes} bytes of documents (oldest dropped first) and retrying in ${this.backoffMs} ms, then up to every ${FILE_BACKOFF_MAX_MS / 1000} s`,
      );
    this.writable = false;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.write();
    }, this.backoffMs);
    this.retryTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, FILE_BACKOFF_MAX_MS);
    this.enforceCap();
    this.checkClosed();
  }

  private drop(values: number): void {
    if (values <= 0) return;
    if (this.writable === false) this.droppedWhileFailing += values;
    this.context.dropped(values);
  }

  private checkClosed(): void {
    if (!this.closing || this.closed) return;
    // A failing file is not waited for: the final document would only wait for the next retry.
    if (this.idle || (this.writable === false && !this.writing)) this.finishClose();
    else this.kick();
  }

  private finishClose(): void {
    if (this.closed || !this.closing) return;
    this.closed = true;
    const unsent = this.building.reduce((sum, b) => sum + b.values, 0) + this.queue.reduce((sum, d) => sum + d.values, 0);
    if (unsent > 0) this.context.log(`closing with ${unsent} values not written to ${this.options.path}; they are dropped`);
    this.drop(unsent);
    this.building.length = 0;
    this.queue.length = 0;
    this.queued = this.writing ? this.writing.bytes : 0;
    clearTimeout(this.retryTimer);
    clearTimeout(this.closing.timer);
    this.closing.resolve();
  }
}

/** Opens the file in append mode (created 0640 less the umask), writes every chunk, closes it. */
async function appendChunks(file: string, chunks: Buffer[]): Promise<void> {
  const handle = await fs.promises.open(file, 'a', FILE_MODE);
  try {
    // One writev: libuv writes all of it (looping over partial writes and IOV_MAX) before it settles.
    await handle.writev(chunks);
  } finally {
    await handle.close();
  }
}

/** Builds one document a few metrics at a time, encoding as it goes. */
class DocumentBuilder {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  private index = 0;

  constructor(
    private readonly snapshot: PushSnapshot,
    private readonly separator: string,
  ) {
    this.add(`{"taken_at_ms":${snapshot.takenAtMs},"metrics":{`);
  }

  private add(text: string): void {
    const chunk = Buffer.from(text, 'utf8');
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  get values(): number {
    return this.snapshot.samples.length;
  }

  /** Formats until done (true) or past the deadline (false). */
  build(deadline: number): boolean {
    const samples = this.snapshot.samples;
    while (this.index < samples.length) {
      const end = Math.min(samples.length, this.index + ENTRIES_PER_CLOCK_CHECK);
      let chunk = '';
      for (; this.index < end; this.index++) chunk += entry(samples[this.index], this.index === 0);
      this.add(chunk);
      if (this.index < samples.length && performance.now() >= deadline) return false;
    }
    this.add(`}}${this.separator}`);
    return true;
  }
}

function entry(sample: PushSample, first: boolean): string {
  return `${first ? '' : ','}${JSON.stringify(sample.name)}:{"type":${METRIC_TYPES.indexOf(sample.type)},"oid":${JSON.stringify(sample.oid ?? '')},"value":${sample.value}}`;
}

export const createFilePusher: PusherFactory = (args, context) => new FilePusher(parseFileArgs(args), context);
