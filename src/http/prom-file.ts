/**
 * `--prom-file PATH`: the Prometheus text exposition written to a file every tick, for node_exporter's
 * textfile collector (`--collector.textfile.directory`). Each write goes to a hidden temporary file in the
 * same directory (`.NAME.PID.tmp`, which node_exporter ignores: it reads `*.prom` only) and is renamed over
 * PATH, so a reader sees the old file or the new one, never half of one.
 *
 * The file is rewritten every tick even when nothing changed: node_exporter exports its mtime as
 * `node_textfile_mtime_seconds`, which is how an alert notices that the writer stopped.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { Metrics } from '../metrics';
import { PrometheusExposition, type PrometheusNaming } from './prometheus-format';

export interface PromFileOptions extends PrometheusNaming {
  /** The file to write; its directory must exist. */
  path: string;
  /** How often (default 1000 ms: one tick). */
  intervalMs?: number;
  /** The file's mode (default 0o644: node_exporter usually runs as another user), exact whatever the umask. */
  mode?: number;
  log?: (message: string) => void;
}

export interface PromFile {
  /** Writes the file now. Throws on failure. */
  write(): void;
  /** Stops the timer after one last write. The file stays, holding the final values. */
  close(): void;
}

/** Writes the file once (throwing an error that names the path if it cannot), then every interval. */
export function startPromFile(metrics: Metrics, options: PromFileOptions): PromFile {
  const log = options.log ?? ((message: string) => process.stderr.write(`shmetrics: ${message}\n`));
  const target = path.resolve(options.path);
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10) throw new RangeError(`prom-file intervalMs ${intervalMs}: expected a whole number >= 10`);
  const mode = options.mode ?? 0o644;
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  const exposition = new PrometheusExposition({
    namespace: options.namespace,
    labelFrom: options.labelFrom,
    onDropped: (name, reason) => log(`prom-file: metric "${name}" is left out: ${reason}`),
  });

  const write = () => {
    const text = exposition.render(metrics.snapshot(), 'text');
    try {
      fs.writeFileSync(temp, text);
      fs.chmodSync(temp, mode);
      fs.renameSync(temp, target);
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw new Error(`prom-file ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };

  write();
  if (!target.endsWith('.prom')) log(`prom-file: ${target} does not end in .prom; node_exporter's textfile collector reads *.prom only`);
  let failing = false;
  const timer = setInterval(() => {
    try {
      write();
      if (failing) log(`prom-file: ${target} is written again`);
      failing = false;
    } catch (error) {
      // Once per failure, not every tick.
      if (!failing) log(`${(error as Error).message} (retrying every tick)`);
      failing = true;
    }
  }, intervalMs);
  timer.unref();

  let closed = false;
  return {
    write,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      try {
        write();
      } catch (error) {
        log((error as Error).message);
      }
    },
  };
}
