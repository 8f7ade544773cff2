import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PushSpecError } from '../../src/errors';
import { FILE_DEFAULT_MAX_QUEUE_BYTES, FilePusher, parseFileArgs } from '../../src/push';
import { tempDir } from '../helpers/regions';
import { pushSetup, sleep } from './helpers/region';
import { poll } from './helpers/udp-peers';

interface Document {
  taken_at_ms: number;
  metrics: Record<string, { type: number; oid: string; value: number }>;
}

/** The documents of a file written with `separator`; the text after the last separator must be empty. */
function documents(file: string, separator = '\n\n'): Document[] {
  const parts = fs.readFileSync(file, 'utf8').split(separator);
  expect(parts.pop()).toBe('');
  return parts.map((part) => JSON.parse(part) as Document);
}

describe('file:path=P,separator=S arguments', () => {
  it('defaults to shmetrics.stats in the working directory and a blank line between documents', () => {
    expect(parseFileArgs('', '/srv/app')).toEqual({
      path: '/srv/app/shmetrics.stats',
      separator: '\n\n',
      maxQueueBytes: FILE_DEFAULT_MAX_QUEUE_BYTES,
    });
    expect(parseFileArgs('path=/var/log/m.json,separator=@@SEP@@,max_queue=1000', '/srv/app')).toEqual({
      path: '/var/log/m.json',
      separator: '@@SEP@@',
      maxQueueBytes: 1000,
    });
    expect(parseFileArgs('path=stats/a\\,b.json', '/srv')).toMatchObject({ path: '/srv/stats/a,b.json' });
  });

  it.each([
    ['/tmp/x', /"\/tmp\/x" is not a key=value item \(expected file:path=P/],
    ['path=', /empty path/],
    ['path=a,path=b', /path is given twice/],
    ['file=a', /unknown key "file" \(known: path, separator, max_queue/],
    ['path=a,max_queue=-1', /max_queue "-1" must be a positive integer/],
  ])('refuses %j', (args, message) => {
    expect(() => parseFileArgs(args)).toThrow(PushSpecError);
    expect(() => parseFileArgs(args)).toThrow(message);
  });
});

describe('the documents', () => {
  it('appends one JSON document of every metric, then the separator, at every push; uWSGI type codes, exact values', async () => {
    const dir = tempDir('file-push');
    const file = path.join(dir, 'stats.json');
    const { metrics, scheduler } = pushSetup();
    const hits = metrics.counter('hits');
    metrics.define('name=temp,type=gauge,oid=100.1').set(-42);
    metrics.define('name=ab,type=absolute').inc(1);
    metrics.define('name=al,type=alias,alias=hits');
    metrics.counter('big').inc(2n ** 62n + 1n);
    scheduler.add(`file:path=${file}`);
    const before = Date.now();
    hits.inc(5);
    scheduler.pushNow();
    hits.inc(1);
    scheduler.pushNow();
    await poll(() => (fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n\n').length === 3 ? true : undefined), 5_000, 'two documents');
    const [first, second] = documents(file);
    expect(Object.keys(first)).toEqual(['taken_at_ms', 'metrics']);
    expect(first.taken_at_ms).toBeGreaterThanOrEqual(before);
    expect(first.metrics).toEqual({
      hits: { type: 0, oid: '', value: 5 },
      temp: { type: 1, oid: '100.1', value: -42 },
      ab: { type: 2, oid: '', value: 1 },
      al: { type: 3, oid: '', value: 5 },
      big: { type: 0, oid: '', value: Number(2n ** 62n + 1n) },
      'shmetrics.push.file.dropped': { type: 0, oid: '', value: 0 },
    });
    expect(Object.keys(first.metrics)).toEqual(['hits', 'temp', 'ab', 'al', 'big', 'shmetrics.push.file.dropped']);
    expect(second.metrics.hits.value).toBe(6);
    // JSON.parse rounds beyond 2^53; the text itself is exact.
    expect(fs.readFileSync(file, 'utf8')).toContain(`"big":{"type":0,"oid":"","value":${2n ** 62n + 1n}}`);
    // One line per document.
    expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('pushes every freq seconds with uWSGI\'s custom separator, and creates the file with mode 0640 less the umask', async () => {
    const dir = tempDir('file-push');
    const file = path.join(dir, 'stats.json');
    const { metrics, scheduler } = pushSetup();
    metrics.counter('hits').inc(3);
    scheduler.add(`file:path=${file},freq=0.1,separator=@@SEP@@,allow=hits`);
    scheduler.start();
    await poll(() => (fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('@@SEP@@').length >= 4 ? true : undefined), 5_000, 'three documents');
    await scheduler.close();
    const docs = documents(file, '@@SEP@@');
    expect(docs.length).toBeGreaterThanOrEqual(3);
    for (const doc of docs) expect(doc.metrics).toEqual({ hits: { type: 0, oid: '', value: 3 } });
    const gaps = docs.slice(1).map((doc, i) => doc.taken_at_ms - docs[i].taken_at_ms);
    for (const gap of gaps.slice(0, -1)) expect(gap).toBeGreaterThanOrEqual(90);
    const umask = process.umask();
    expect(fs.statSync(file).mode & 0o777).toBe(0o640 & ~umask);
  });

  it('writes again after the file was rotated away', async () => {
    const dir = tempDir('file-push');
    const file = path.join(dir, 'stats.json');
    const { metrics, scheduler } = pushSetup();
    metrics.counter('hits').inc(1);
    scheduler.add({ pusher: 'file', args: `path=${file}`, allow: ['hits'] });
    scheduler.pushNow();
    await poll(() => (fs.existsSync(file) ? true : undefined), 5_000, 'the file');
    await sleep(50);
    fs.renameSync(file, `${file}.1`);
    scheduler.pushNow();
    await poll(() => (fs.existsSync(file) && documents(file).length === 1 ? true : undefined), 5_000, 'a new file');
    expect(documents(`${file}.1`)).toHaveLength(1);
  });
});

describe('a file that cannot be written, or is slow', () => {
  it('keeps documents up to max_queue, counts what it drops, logs once per change, and writes again when it can', async () => {
    const dir = tempDir('file-push');
    const file = path.join(dir, 'missing-dir', 'stats.json');
    const { metrics, scheduler, logs } = pushSetup();
    for (let i = 0; i < 10; i++) metrics.gauge(`g.${i}`).set(i);
    scheduler.add(`file:path=${file},max_queue=1500,allow=g.`);
    const pusher = scheduler.pusher('file') as FilePusher;
    for (let push = 0; push < 8; push++) {
      scheduler.pushNow();
      await sleep(20);
      expect(pusher.queuedBytes).toBeLessThanOrEqual(1500);
    }
    const dropped = metrics.get('shmetrics.push.file.dropped');
    // Each document is ~430 bytes: three fit, the others were dropped, 10 values each.
    expect(dropped).toBeGreaterThanOrEqual(40);
    expect(dropped % 10).toBe(0);
    expect(logs).toEqual([expect.stringMatching(/^stats pusher file: cannot append to .*missing-dir\/stats\.json \(ENOENT\); keeping up to 1500 bytes/)]);

    fs.mkdirSync(path.dirname(file));
    await poll(() => (logs.length >= 2 ? true : undefined), 10_000, 'the recovery log line');
    expect(logs[1]).toMatch(new RegExp(`^stats pusher file: appending to .*stats\\.json again; ${dropped} values were dropped while it failed$`));
    await poll(() => (pusher.queuedBytes === 0 ? true : undefined), 5_000, 'the queue to drain');
    expect(documents(file)).toHaveLength(8 - dropped / 10);
    expect(logs).toHaveLength(2);
  });

  it('bounds what waits for a reader that never comes (a FIFO nobody reads), then catches up', async () => {
    const dir = tempDir('file-push');
    const fifo = path.join(dir, 'stats.fifo');
    execFileSync('mkfifo', [fifo]);
    const { metrics, scheduler, logs } = pushSetup();
    for (let i = 0; i < 10; i++) metrics.gauge(`g.${i}`).set(i);
    scheduler.add(`file:path=${fifo},max_queue=1500,allow=g.`);
    const pusher = scheduler.pusher('file') as FilePusher;
    let reader: number | undefined;
    try {
      for (let push = 0; push < 8; push++) {
        scheduler.pushNow();
        await sleep(20);
        // The document being written (blocked in open()) plus what waits, the newest always kept.
        expect(pusher.queuedBytes).toBeLessThanOrEqual(1500 + 500);
      }
      const dropped = metrics.get('shmetrics.push.file.dropped');
      expect(dropped).toBeGreaterThan(0);
      expect(logs).toEqual([]);
      // A reader that is also a writer never sees end-of-file and never blocks the pusher's open().
      reader = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      await poll(() => (pusher.queuedBytes === 0 ? true : undefined), 5_000, 'the queue to drain');
      const text = readAvailable(reader);
      const docs = text.split('\n\n').filter(Boolean).map((doc) => JSON.parse(doc) as Document);
      expect(docs.length).toBe(8 - dropped / 10);
      expect(docs.at(-1)!.metrics['g.9']).toEqual({ type: 1, oid: '', value: 9 });
    } finally {
      reader ??= fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      await scheduler.close();
      readAvailable(reader);
      fs.closeSync(reader);
    }
  });
});

function readAvailable(fd: number): string {
  let text = '';
  const buffer = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n <= 0) return text;
      text += buffer.toString('utf8', 0, n);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw error;
    }
  }
}
