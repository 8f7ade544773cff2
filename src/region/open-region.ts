import { addon, callNative, type CreateOptions, type NativeRegion } from '../native';
import { LaneValues } from './lane-values';
import { NativeValues } from './native-values';
import type { ValueStore } from './value-store';

export interface OpenedRegion {
  readonly native: NativeRegion;
  readonly values: ValueStore;
}

/**
 * Maps the region at `path` (creating it when asked) and picks how values are reached: a typed-array
 * view when the runtime accepts an external ArrayBuffer over the mapping, native calls otherwise.
 */
export function openRegion(path: string, create: boolean, options: CreateOptions): OpenedRegion {
  const native = callNative(path, () => new addon.NativeRegion(path, create, options));
  let buffer: ArrayBuffer | undefined;
  try {
    buffer = native.buffer();
  } catch {
    buffer = undefined; // V8 sandbox or SHMETRICS_FORCE_NATIVE_VALUES: same protocol through the core
  }
  const values = buffer ? new LaneValues(native, buffer, native.info()) : new NativeValues(native);
  return { native, values };
}
