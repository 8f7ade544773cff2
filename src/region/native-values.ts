import type { NativeRegion, UpdateOp, UpdateResult } from '../native';
import type { ValueStore } from './value-store';

/**
 * The fallback when the runtime refuses external ArrayBuffers (V8 sandbox builds, or
 * SHMETRICS_FORCE_NATIVE_VALUES=1): every operation is one call into the core, which runs the same
 * protocol in C++. Tens of nanoseconds an operation instead of about one, with identical results
 * (README "Performance").
 */
export class NativeValues implements ValueStore {
  readonly kind = 'native' as const;

  constructor(readonly native: NativeRegion) {}

  add32(value: number, delta: number): void {
    this.native.add(value, delta);
  }

  addSafe(value: number, delta: number): void {
    this.native.add(value, delta);
  }

  addBigInt(value: number, delta: bigint): void {
    this.native.add(value, delta);
  }

  setSafe(value: number, x: number): void {
    this.native.store(value, x);
  }

  setBigInt(value: number, x: bigint): void {
    this.native.store(value, x);
  }

  get(value: number): number {
    return Number(this.native.load(value));
  }

  getBigInt(value: number): bigint {
    return this.native.load(value);
  }

  update(value: number, op: UpdateOp, operand: bigint): UpdateResult {
    return this.native.update(value, op, operand);
  }

  armLane(): undefined {
    return undefined;
  }

  snapshot(out: BigInt64Array): number {
    return this.native.snapshot(out);
  }
}
