/**
 * What `shmetrics ls` and `shmetrics info` print. Shared with the demo, which shows the same table.
 */

import type { MetricInfo, Metrics, MetricsSnapshot } from '../metrics';

/** The metrics of `snapshot` whose name starts with `prefix`, in registration order. */
export function selectMetrics(snapshot: MetricsSnapshot, prefix = ''): MetricInfo[] {
  return snapshot.metrics.filter((info) => info.name.startsWith(prefix));
}

/**
 * One line per metric under a header: NAME, TYPE, VALUE (exact, right-aligned), then OID and COLLECTOR
 * when any listed metric has one (the default `manual` collector is left blank). Columns are separated by
 * two spaces and lines carry no trailing blanks. No metrics: no lines at all.
 */
export function formatMetricTable(snapshot: MetricsSnapshot, prefix = ''): string[] {
  const listed = selectMetrics(snapshot, prefix);
  if (listed.length === 0) return [];
  const rows = listed.map((info) => [
    info.name,
    info.type,
    snapshot.valueBigInt(info).toString(),
    info.oid ?? '',
    info.collector === 'manual' ? '' : info.collector,
  ]);
  const header = ['NAME', 'TYPE', 'VALUE', 'OID', 'COLLECTOR'];
  const rightAligned = new Set([2]);
  // Drop the optional columns (OID, COLLECTOR) that are blank for every row.
  const columns = header.map((_, c) => c).filter((c) => c < 3 || rows.some((row) => row[c] !== ''));
  const widths = columns.map((c) => Math.max(header[c].length, ...rows.map((row) => row[c].length)));
  return [header, ...rows].map((cells) =>
    columns
      .map((c, i) => (rightAligned.has(c) ? cells[c].padStart(widths[i]) : cells[c].padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/** A value as JSON: a number when it is a safe integer (exact in every JSON reader), else a decimal string. */
function jsonValue(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** `ls --json`: one document, `{"region", "metrics": [{"name","type","oid","collector","value"}]}`. */
export function formatMetricsJson(regionPath: string, snapshot: MetricsSnapshot, prefix = ''): string {
  const metrics = selectMetrics(snapshot, prefix).map((info) => ({
    name: info.name,
    type: info.type,
    oid: info.oid ?? null,
    collector: info.collector,
    value: jsonValue(snapshot.valueBigInt(info)),
  }));
  return JSON.stringify({ region: regionPath, metrics }, null, 2);
}

/** `info`: `label: value` lines, values aligned. */
export function formatRegionInfo(info: ReturnType<Metrics['info']>, metricsUsed: number): string[] {
  const fields: [string, string][] = [
    ['region', info.path],
    ['layout version', String(info.layoutVersion)],
    ['created', new Date(info.createdUnixMs).toISOString()],
    ['size', `${info.regionBytes} bytes`],
    ['metrics', `${metricsUsed} of ${info.metricCapacity}`],
    ['values', `${info.valueCount} of ${info.valueCapacity}`],
    ['children capacity', String(info.childrenCapacity)],
    ['lanes', String(info.laneCount)],
    ['lock repairs', String(info.lockRepairs)],
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`);
}
