import { UpdateOp, UpdateResult, type NativeRegion, type NativeRegionInfo } from '../native';
import type { LaneSlot, ValueStore } from './value-store';

const TWO_32 = 4294967296;
const BYTES_PER_I64 = 8;
const BYTES_PER_I32 = 4;

/**
 * The hot path: the value protocol of native/layout.h done in JavaScript on a BigInt64Array over the
 * mapped region, with no call into C++.
 *
 * How each operation stays allocation-free: V8's optimizing compiler lowers BigInt arithmetic whose
 * result is stored straight into a BigInt64Array to plain 64-bit machine instructions, as long as the
 * BigInts come from int32 values (`BigInt(x | 0)`), from another BigInt64Array element, or from shifts
 * and adds of those. So `own[v] += BigInt(d | 0)` is one load, one add and one 8-byte store; reads go
 * through a one-element private BigInt64Array (`scratch`) so that the 64-bit value is read with a
 * single 8-byte load and then taken apart as two 32-bit halves into a Number.
 */
export class LaneValues implements ValueStore {
  readonly kind = 'typed-array' as const;
  private readonly i64: BigInt64Array;
  private readonly i32: Int32Array;
  /** i64 index of cell 0's base; cell v's base is at cell64 + v * cellStride64. */
  private readonly cell64: number;
  private readonly cellStride64: number;
  /** i32 index of cell 0's `laned` flag. */
  private readonly laned32: number;
  private readonly cellStride32: number;
  /** i64 index of this thread's lane, value 0; -1 when it has no lane. */
  private readonly own64: number;
  private readonly lanes64: number;
  private readonly laneStride64: number;
  private readonly highWater32: number;
  /** Values this thread has already flagged as laned, so an increment never writes the shared flag twice. */
  private readonly flagged: Uint8Array;
  private readonly scratch = new BigInt64Array(1);
  private readonly scratchLo = new Uint32Array(this.scratch.buffer, 0, 1);
  private readonly scratchHi = new Int32Array(this.scratch.buffer, 4, 1);

  constructor(
    readonly native: NativeRegion,
    buffer: ArrayBuffer,
    info: NativeRegionInfo,
  ) {
    this.i64 = new BigInt64Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.cell64 = info.cellsOffset / BYTES_PER_I64;
    this.cellStride64 = info.cellBytes / BYTES_PER_I64;
    this.laned32 = (info.cellsOffset + info.lanedOffsetInCell) / BYTES_PER_I32;
    this.cellStride32 = info.cellBytes / BYTES_PER_I32;
    this.lanes64 = info.lanesOffset / BYTES_PER_I64;
    this.laneStride64 = info.laneStride / BYTES_PER_I64;
    this.own64 = info.lane < 0 ? -1 : this.lanes64 + info.lane * this.laneStride64;
    this.highWater32 = info.lanesHighWaterOffset / BYTES_PER_I32;
    this.flagged = new Uint8Array(info.valueCapacity);
  }

  add32(value: number, delta: number): void {
    const own = this.own64;
    if (own < 0) {
      Atomics.add(this.i64, this.cell64 + value * this.cellStride64, BigInt(delta | 0));
      return;
    }
    if (this.flagged[value] === 0) this.flagLaned(value);
    this.i64[own + value] += BigInt(delta | 0);
  }

  addSafe(value: number, delta: number): void {
    const s = this.scratch;
    const hi = Math.floor(delta / TWO_32);
    s[0] = (BigInt(hi | 0) << 32n) + BigInt(delta - hi * TWO_32);
    const own = this.own64;
    if (own < 0) {
      Atomics.add(this.i64, this.cell64 + value * this.cellStride64, s[0]);
      return;
    }
    if (this.flagged[value] === 0) this.flagLaned(value);
    this.i64[own + value] += s[0];
  }

  addBigInt(value: number, delta: bigint): void {
    const own = this.own64;
    if (own < 0) {
      Atomics.add(this.i64, this.cell64 + value * this.cellStride64, delta);
      return;
    }
    if (this.flagged[value] === 0) this.flagLaned(value);
    this.i64[own + value] += delta;
  }

  setSafe(value: number, x: number): void {
    const s = this.scratch;
    if ((x | 0) === x) {
      s[0] = BigInt(x | 0);
    } else {
      const hi = Math.floor(x / TWO_32);
      s[0] = (BigInt(hi | 0) << 32n) + BigInt(x - hi * TWO_32);
    }
    this.storeScratch(value);
  }

  setBigInt(value: number, x: bigint): void {
    this.scratch[0] = x;
    this.storeScratch(value);
  }

  get(value: number): number {
    this.loadScratch(value);
    return this.scratchLo[0] + this.scratchHi[0] * TWO_32;
  }

  getBigInt(value: number): bigint {
    this.loadScratch(value);
    return this.scratch[0];
  }

  update(value: number, op: UpdateOp, operand: bigint): UpdateResult {
    // set_max/set_min are mostly no-ops once a value has settled: answer those without leaving JS.
    if ((op === UpdateOp.Max || op === UpdateOp.Min) && this.i32[this.laned32 + value * this.cellStride32] === 0) {
      const current = this.i64[this.cell64 + value * this.cellStride64];
      if (op === UpdateOp.Max ? operand <= current : operand >= current) return UpdateResult.Unchanged;
    }
    return this.native.update(value, op, operand);
  }

  armLane(value: number): LaneSlot | undefined {
    if (this.own64 < 0) return undefined;
    if (this.flagged[value] === 0) this.flagLaned(value);
    return { array: this.i64, index: this.own64 + value };
  }

  snapshot(out: BigInt64Array): number {
    return this.native.snapshot(out);
  }

  private flagLaned(value: number): void {
    // Sequentially consistent: the flag is visible before this thread's first lane write.
    Atomics.store(this.i32, this.laned32 + value * this.cellStride32, 1);
    this.flagged[value] = 1;
  }

  /** base = scratch, minus the lanes when the value has any; one 8-byte store. */
  private storeScratch(value: number): void {
    const s = this.scratch;
    if (this.i32[this.laned32 + value * this.cellStride32] !== 0) {
      const lanes = this.i32[this.highWater32];
      for (let l = 0, at = this.lanes64 + value; l < lanes; l++, at += this.laneStride64) s[0] -= this.i64[at];
    }
    this.i64[this.cell64 + value * this.cellStride64] = s[0];
  }

  /** scratch = base plus, when the value has any, every lane. */
  private loadScratch(value: number): void {
    const s = this.scratch;
    s[0] = this.i64[this.cell64 + value * this.cellStride64];
    if (this.i32[this.laned32 + value * this.cellStride32] !== 0) {
      const lanes = this.i32[this.highWater32];
      for (let l = 0, at = this.lanes64 + value; l < lanes; l++, at += this.laneStride64) s[0] += this.i64[at];
    }
  }
}
