/** OBJECT IDENTIFIERs as arrays of arcs, and the OIDs shmetrics answers at. */

/** uWSGI's tree: enterprises.35156 (unbit) .17 (uwsgi). A metric with oid=X.Y answers at BASE.X.Y. */
export const BASE_OID = '1.3.6.1.4.1.35156.17';
export const BASE_ARCS: readonly number[] = [1, 3, 6, 1, 4, 1, 35156, 17];

/**
 * BASE.20 is the metrics table (SHMETRICS-MIB::shmMetricTable): BASE.20.1.<column>.<index>, index =
 * slot + 1. uWSGI leaves 20 unused (its namespaces stop at 10, system).
 */
export const TABLE_ARC = 20;
export const TABLE_ARCS: readonly number[] = [...BASE_ARCS, TABLE_ARC];
/** shmMetricEntry */
export const ENTRY_ARC = 1;
export const Column = {
  /** shmMetricName: OCTET STRING, the metric's name. */
  Name: 1,
  /** shmMetricType: INTEGER counter(1) gauge(2) absolute(3) alias(4). */
  Type: 2,
  /** shmMetricCounter: Counter64 (Counter32 in v1), rows of counters, absolutes and aliases of them. */
  Counter: 3,
  /** shmMetricGauge: Gauge32, rows of gauges and aliases of gauges. */
  Gauge: 4,
} as const;
export const LAST_COLUMN = Column.Gauge;

/** Lexicographic order of OIDs, arc by arc; a prefix sorts before what extends it. */
export function compareOids(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

export function hasPrefix(oid: readonly number[], prefix: readonly number[]): boolean {
  if (oid.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (oid[i] !== prefix[i]) return false;
  return true;
}

export function formatOid(arcs: readonly number[]): string {
  return arcs.join('.');
}

/** Dotted decimal to arcs; undefined when it is not one (a metric's oid was validated at definition). */
export function parseOid(text: string): number[] | undefined {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(text)) return undefined;
  const arcs = text.split('.').map(Number);
  return arcs.every((arc) => arc <= 0xffffffff) ? arcs : undefined;
}
