import type { NativeRegion, UpdateOp, UpdateResult } from '../native';

/**
 * Reads and writes values of a region by value index, following the protocol in native/layout.h.
 * One implementation per process: a typed-array view over the mapping when the runtime allows it
 * (LaneValues), per-operation native calls otherwise (NativeValues).
 *
 * Callers validate arguments: `add32` gets an int32, `addSafe`/`setSafe` a safe integer Number,
 * the BigInt forms a value within int64.
 */
export interface ValueStore {
  readonly kind: 'typed-array' | 'native';
  add32(value: number, delta: number): void;
  addSafe(value: number, delta: number): void;
  addBigInt(value: number, delta: bigint): void;
  setSafe(value: number, x: number): void;
  setBigInt(value: number, x: bigint): void;
  /** The value as a Number: exact up to 2^53, rounded beyond. */
  get(value: number): number;
  getBigInt(value: number): bigint;
  /** mul/div/setMax/setMin: atomic with respect to every other operation in every process. */
  update(value: number, op: UpdateOp, operand: bigint): UpdateResult;
  /** Fills out[v] for every value index below out.length; returns how many were filled. */
  snapshot(out: BigInt64Array): number;
  readonly native: NativeRegion;
  /**
   * Flags `value` as laned and returns where this thread's lane part of it lives, for handles that add
   * to it directly; undefined when values are reached through native calls or this thread has no lane.
   */
  armLane(value: number): LaneSlot | undefined;
}

export interface LaneSlot {
  readonly array: BigInt64Array;
  readonly index: number;
}

const TWO_32 = 4294967296;

/** Splits a safe integer into the int32 high and uint32 low words of its 64-bit two's complement form. */
export function splitSafeInteger(x: number): [hi: number, lo: number] {
  const hi = Math.floor(x / TWO_32);
  return [hi, x - hi * TWO_32];
}
