import fs from 'node:fs';
import path from 'node:path';
import type { Metrics } from '../metrics';
import { parseMetricSpec } from '../spec/metric-spec';
import { Manifest } from './manifest';

export interface RestoreReport {
  restored: { name: string; value: bigint }[];
  skipped: { name: string; reason: string }[];
}

const INT64 = /^-?[0-9]{1,19}$/;

/**
 * `--metrics-dir-restore`: before workers start, every counter, absolute and manual gauge resumes from
 * its file in `dir`, and so does every accumulator (it is a running total). Other collector-driven
 * metrics are recomputed at the next tick, not offset by their old value (uWSGI adds the old value to
 * every collection: a gauge reading 7 becomes 7, 14, 21 over three restarts). Manual metrics that were
 * defined at run time and are not defined yet are defined again from the view's manifest first, so their
 * counts survive a restart too. A file that does not parse is reported and skipped; nothing here throws
 * for one bad file.
 */
export function restoreFromMetricsDir(metrics: Metrics, dir: string): RestoreReport {
  const report: RestoreReport = { restored: [], skipped: [] };
  if (!fs.existsSync(dir)) return report;
  const manifest = new Manifest(dir);
  for (const name of manifest.names()) {
    if (metrics.has(name) || !manifest.files(name).some((file) => fs.existsSync(path.join(dir, file)))) continue;
    try {
      const def = parseMetricSpec(manifest.spec(name)!);
      if (def.name === name && def.collector === 'manual' && def.type !== 'alias') metrics.define(def);
    } catch (error) {
      report.skipped.push({ name, reason: `cannot define it again: ${(error as Error).message}` });
    }
  }
  for (const info of metrics.list()) {
    if (info.type === 'alias') continue;
    if (info.type === 'histogram') {
      restoreHistogram(metrics, dir, info.name, info.buckets!.length, report);
      continue;
    }
    if (info.collector !== 'manual' && info.collector !== 'accumulator') continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, info.name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        report.skipped.push({ name: info.name, reason: (error as Error).message });
      continue;
    }
    const trimmed = text.trim();
    if (!INT64.test(trimmed) || BigInt(trimmed) !== BigInt.asIntN(64, BigInt(trimmed))) {
      report.skipped.push({ name: info.name, reason: `${path.join(dir, info.name)} holds ${JSON.stringify(text.slice(0, 40))}, not a 64-bit integer` });
      continue;
    }
    const value = BigInt(trimmed);
    metrics.restoreValue(info.name, value);
    report.restored.push({ name: info.name, value });
  }
  return report;
}

/** A histogram resumes from `name.buckets`: its bucket counts (the +Inf one last), then its sum. */
function restoreHistogram(metrics: Metrics, dir: string, name: string, bounds: number, report: RestoreReport): void {
  const file = path.join(dir, `${name}.buckets`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const words = text.trim().split(/\s+/);
  if (words.length !== bounds + 2 || !words.every((w) => INT64.test(w))) {
    report.skipped.push({ name, reason: `${file} does not hold ${bounds + 1} bucket counts and a sum` });
    return;
  }
  const numbers = words.map((w) => BigInt(w));
  metrics.restoreHistogram(name, numbers.slice(0, -1), numbers[numbers.length - 1]);
  report.restored.push({ name, value: numbers.slice(0, -1).reduce((a, b) => a + b, 0n) });
}
