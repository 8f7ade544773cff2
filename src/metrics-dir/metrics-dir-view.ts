import { deriveSeries } from '../histogram/derived-series';
import { addon, type NativeTextFiles } from '../native';
import type { MetricInfo, Metrics, MetricsSnapshot } from '../metrics';
import { formatMetricSpec } from '../spec/metric-spec';
import { Manifest } from './manifest';

export interface MetricsDirOptions {
  /** The directory; created (mode 0700) when missing. */
  dir: string;
  /** Mode of the files (default 0o600), applied exactly whatever the umask. */
  mode?: number;
  /** How often changed values are written (default 1000 ms: one collection tick). */
  intervalMs?: number;
  log?: (message: string) => void;
}

/**
 * `--metrics-dir DIR`: one text file per metric, named by the metric, holding its value in decimal and a
 * newline (`cat DIR/system.load1` prints `52`), every metric included (manual ones and aliases), rewritten
 * within one tick of a change. Only changed values are written; a reader never sees a half-written file
 * (native/text_files.h says how).
 *
 * A histogram `h` has derived files instead of one: `h.count`, `h.sum`, `h.p50`, `h.p90`, `h.p99`,
 * `h.p999`, `h.min`, `h.max`, and `h.buckets` (its bucket counts then its sum, space-separated), from
 * which a restore resumes it.
 *
 * Stale files: at start, every file this view wrote in an earlier run (listed in DIR/.shmetrics-files)
 * whose metric no longer exists is removed. Files it did not write are never touched.
 */
export class MetricsDirView {
  readonly dir: string;
  private readonly mode: number;
  private readonly files: NativeTextFiles;
  private readonly manifest: Manifest;
  private readonly log: (message: string) => void;
  private readonly intervalMs: number;
  /** By slot: the last value written, as two int32 words (compared without making BigInts). */
  private lastWords = new Int32Array(0);
  /** By slot: whether the metric's file exists (written at least once by this view). */
  private present: boolean[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly metrics: Metrics,
    options: MetricsDirOptions,
  ) {
    this.dir = options.dir;
    this.mode = options.mode ?? 0o600;
    this.intervalMs = options.intervalMs ?? 1000;
    this.log = options.log ?? ((message) => process.stderr.write(`shmetrics: ${message}\n`));
    this.files = new addon.NativeTextFiles(this.dir, this.mode);
    this.manifest = new Manifest(this.dir);
  }

  /** Removes stale files, writes every value, then keeps the files current. */
  start(): void {
    this.removeStale();
    this.flush();
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Writes every value that changed since the last flush; returns how many files were written. */
  flush(): number {
    const snapshot = this.metrics.snapshot();
    if (snapshot.metrics.length * 2 > this.lastWords.length) this.grow(snapshot.metrics.length);
    const words = new Int32Array(snapshot.values.buffer, snapshot.values.byteOffset, snapshot.values.length * 2);
    let written = 0;
    let manifestChanged = false;
    for (const info of snapshot.metrics) {
      // A histogram changes when its count does: every observation adds to it.
      const v = info.type === 'histogram' ? info.valueIndex + info.buckets!.length + 1 : info.valueIndex;
      const s = info.slot;
      const known = this.present[s] === true;
      if (known && words[2 * v] === this.lastWords[2 * s] && words[2 * v + 1] === this.lastWords[2 * s + 1]) continue;
      if (!known) {
        if (info.name === '.' || info.name === '..') continue; // valid metric names, impossible file names
        this.present[info.slot] = true;
        if (this.manifest.spec(info.name) !== formatMetricSpec(info)) {
          this.manifest.set(info.name, formatMetricSpec(info));
          manifestChanged = true;
        }
      }
      written += this.writeMetric(info, snapshot);
      this.lastWords[2 * s] = words[2 * v];
      this.lastWords[2 * s + 1] = words[2 * v + 1];
    }
    if (manifestChanged) this.manifest.save(this.mode);
    return written;
  }

  /** A final flush, then stops. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    this.files.close();
  }

  /** Writes the metric's file (a histogram's files); returns how many were written. */
  private writeMetric(info: MetricInfo, snapshot: MetricsSnapshot): number {
    const files: [string, string][] = [];
    if (info.type === 'histogram') {
      const h = snapshot.histogram(info);
      for (const series of deriveSeries(h)) files.push([`${info.name}.${series.suffix}`, `${series.value}\n`]);
      files.push([`${info.name}.buckets`, `${[...h.counts, h.sum].join(' ')}\n`]);
    } else {
      files.push([info.name, `${snapshot.values[info.valueIndex]}\n`]);
    }
    let written = 0;
    for (const [name, text] of files) {
      try {
        this.files.write(name, text);
        written++;
      } catch (error) {
        this.log(`metrics-dir: ${(error as Error).message}`);
      }
    }
    return written;
  }

  private grow(metrics: number): void {
    const words = new Int32Array(metrics * 2);
    words.set(this.lastWords);
    this.lastWords = words;
  }

  private removeStale(): void {
    const current = new Set(this.metrics.list().map((m) => m.name));
    let changed = false;
    for (const name of this.manifest.names()) {
      if (current.has(name)) continue;
      for (const file of this.manifest.files(name)) this.files.remove(file);
      this.manifest.delete(name);
      changed = true;
    }
    if (changed) this.manifest.save(this.mode);
  }
}

