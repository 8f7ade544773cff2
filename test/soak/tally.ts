/**
 * The workers' own bookkeeping (test/soak/workers/soak-worker.js), read back from the tally region and
 * compared with the region under test.
 *
 * Each worker incarnation sets `<incarnation>.c.<counter>` to the total it has added to <counter> right
 * after each increment, so a SIGKILL leaves at most one increment done and not tallied (the one between
 * the add and the set), never the reverse. Per counter:
 *
 *   Σ completed <= region value <= Σ completed + in-flight,   in-flight <= one increment per killed incarnation
 *
 * and an incarnation that exited through JavaScript (exit = 1: SIGTERM, or the master gone) has nothing in
 * flight. A region value below Σ completed is a lost update.
 */

import type { Metrics } from '../../src';
import { isAlive } from './probes';

/** The largest delta one increment of the worker adds (soak.shared.* get 1..3). */
export const MAX_DELTA = 3;

export interface Incarnation {
  id: string;
  worker: number;
  pid: number;
  /** Exited through JavaScript (exit handler ran between two operations). */
  exited: boolean;
  paused: boolean;
  ops: number;
  /** Counter name -> what this incarnation completed on it. */
  completed: Map<string, bigint>;
}

/** Every incarnation recorded in the tally region. */
export function readIncarnations(tally: Metrics): Incarnation[] {
  const snapshot = tally.snapshot();
  const byId = new Map<string, Incarnation>();
  for (const info of snapshot.metrics) {
    const match = /^(i\d+x[0-9a-z]+)\.(.+)$/.exec(info.name);
    if (!match) continue;
    const [, id, key] = match;
    let incarnation = byId.get(id);
    if (!incarnation) {
      incarnation = { id, worker: 0, pid: 0, exited: false, paused: false, ops: 0, completed: new Map() };
      byId.set(id, incarnation);
    }
    const value = snapshot.valueBigInt(info);
    if (key === 'worker') incarnation.worker = Number(value);
    else if (key === 'pid') incarnation.pid = Number(value);
    else if (key === 'exit') incarnation.exited = value === 1n;
    else if (key === 'paused') incarnation.paused = value === 1n;
    else if (key === 'ops') incarnation.ops = Number(value);
    else if (key.startsWith('c.')) incarnation.completed.set(key.slice(2), value);
  }
  return [...byId.values()];
}

/** Incarnations whose process still runs. */
export function liveIncarnations(incarnations: readonly Incarnation[]): Incarnation[] {
  return incarnations.filter((i) => !i.exited && i.pid > 0 && isAlive(i.pid));
}

export interface TallyComparison {
  incarnations: number;
  /** Incarnations that ended without running their exit handler (SIGKILL): each may have one increment in flight. */
  killed: number;
  ops: number;
  counters: number;
  /** Σ over counters of max(0, Σ completed − region): must be 0. */
  lost: bigint;
  lostCounters: string[];
  /** Σ over counters of region − Σ completed where positive: increments done but not tallied at a kill. */
  inFlight: bigint;
  inFlightCounters: number;
  /** in-flight <= killed × MAX_DELTA, and no counter touched only by incarnations that ended cleanly is off. */
  withinBound: boolean;
  problems: string[];
  /** Counters whose region value equals Σ completed exactly. */
  exact: number;
}

/** Compares Σ completed with `region` (counter name -> value), after the workers were paused. */
export function compareTally(incarnations: readonly Incarnation[], region: ReadonlyMap<string, bigint>): TallyComparison {
  const completed = new Map<string, bigint>();
  const touchedByKilled = new Set<string>();
  let killed = 0;
  let ops = 0;
  for (const incarnation of incarnations) {
    ops += incarnation.ops;
    const wasKilled = !incarnation.exited && !(incarnation.pid > 0 && isAlive(incarnation.pid));
    if (wasKilled) killed++;
    for (const [name, value] of incarnation.completed) {
      completed.set(name, (completed.get(name) ?? 0n) + value);
      if (wasKilled) touchedByKilled.add(name);
    }
  }
  const result: TallyComparison = {
    incarnations: incarnations.length,
    killed,
    ops,
    counters: completed.size,
    lost: 0n,
    lostCounters: [],
    inFlight: 0n,
    inFlightCounters: 0,
    withinBound: true,
    problems: [],
    exact: 0,
  };
  for (const [name, done] of completed) {
    const value = region.get(name);
    if (value === undefined) {
      result.problems.push(`${name}: tallied ${done} but not in the region`);
      result.lost += done;
      result.lostCounters.push(name);
      continue;
    }
    if (value < done) {
      result.lost += done - value;
      result.lostCounters.push(`${name} (region ${value} < completed ${done})`);
    } else if (value > done) {
      result.inFlight += value - done;
      result.inFlightCounters++;
      if (!touchedByKilled.has(name)) {
        result.withinBound = false;
        result.problems.push(`${name}: region ${value} > completed ${done}, and no killed incarnation touched it`);
      }
    } else {
      result.exact++;
    }
  }
  if (result.inFlight > BigInt(killed * MAX_DELTA)) {
    result.withinBound = false;
    result.problems.push(`in-flight ${result.inFlight} > ${killed} killed incarnations × ${MAX_DELTA}`);
  }
  for (const name of region.keys())
    if (!completed.has(name) && region.get(name) !== 0n) result.problems.push(`${name}: region ${region.get(name)} but nothing tallied`);
  return result;
}
