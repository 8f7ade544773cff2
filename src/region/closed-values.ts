import { ShmetricsError } from '../errors';
import type { NativeRegion } from '../native';
import type { ValueStore } from './value-store';

/** What a handle holds after its Metrics was closed: every operation says so. */
export class ClosedValues implements ValueStore {
  readonly kind = 'native' as const;

  constructor(private readonly path: string) {}

  private closed(): never {
    throw new ShmetricsError(`${this.path}: this Metrics instance was closed; open the region again`);
  }

  get native(): NativeRegion {
    return this.closed();
  }

  add32(): void {
    this.closed();
  }
  addSafe(): void {
    this.closed();
  }
  addBigInt(): void {
    this.closed();
  }
  setSafe(): void {
    this.closed();
  }
  setBigInt(): void {
    this.closed();
  }
  get(): number {
    return this.closed();
  }
  getBigInt(): bigint {
    return this.closed();
  }
  update(): never {
    return this.closed();
  }
  snapshot(): number {
    return this.closed();
  }
  armLane(): undefined {
    return this.closed();
  }
}
