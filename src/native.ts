/**
 * The compiled core (native/binding.cc), loaded from a prebuilt binary shipped in the package when one
 * matches, or from the node-gyp build otherwise.
 */
import path from 'node:path';
import type { MetricDefinition } from './spec/metric-spec';
import { RegionFormatError, RegionFullError, RegionOpenError, ShmetricsError } from './errors';

export interface NativeRegionInfo {
  path: string;
  layoutVersion: number;
  regionBytes: number;
  createdUnixMs: number;
  metricCapacity: number;
  valueCapacity: number;
  childrenCapacity: number;
  laneCount: number;
  /** The lane this thread writes, -1 when every lane was taken. */
  lane: number;
  cellsOffset: number;
  cellBytes: number;
  lanedOffsetInCell: number;
  lanesOffset: number;
  laneStride: number;
  metricCountOffset: number;
  lanesHighWaterOffset: number;
  valueCount: number;
  lockRepairs: number;
  /** The process collecting this region, 0 when none. */
  collectorPid: number;
  collectorTakeovers: number;
  /** Whether this instance runs a collector thread (as the collector or as a standby). */
  collecting: boolean;
}

/** What native define() takes: a validated definition, with type and collector as their numeric codes. */
export type NativeDefinition = Omit<MetricDefinition, 'type' | 'collector'> & { type: number; collector: number };

/** A registered metric as the region stores it: empty strings and zeros where a key was not given. */
export type NativeMeta = Required<Omit<NativeDefinition, 'alias'>> & {
  alias: string | undefined;
  valueIndex: number;
  valueCount: number;
};

export const enum UpdateOp {
  Mul = 0,
  Div = 1,
  Max = 2,
  Min = 3,
}

export const enum UpdateResult {
  Changed = 0,
  Unchanged = 1,
  DivideByZero = 2,
  Overflow = 3,
}

export interface CreateOptions {
  allowForeignOwner?: boolean;
  metricCapacity?: number;
  valueCapacity?: number;
  childrenCapacity?: number;
  laneCount?: number;
  mode?: number;
}

export type NativeCollectorEvent =
  | { type: 'collecting'; tookOver: boolean }
  | { type: 'log'; message: string }
  | { type: 'alarm'; alarm: string; metric: string; value: bigint; threshold: bigint; msg: string };

export interface NativeThreshold {
  slot: number;
  valueIndex: number;
  metric: string;
  value: bigint;
  reset?: bigint;
  rateMs: number;
  alarm: string;
  msg: string;
}

export interface NativeRegion {
  info(): NativeRegionInfo;
  buffer(): ArrayBuffer;
  define(definition: NativeDefinition): { slot: number; created: boolean };
  lookup(name: string): number;
  count(): number;
  meta(slot: number): NativeMeta;
  snapshot(out: BigInt64Array): number;
  load(value: number): bigint;
  /** A safe-integer Number or a BigInt. */
  add(value: number, delta: number | bigint): void;
  store(value: number, x: number | bigint): void;
  update(value: number, op: UpdateOp, operand: bigint): UpdateResult;
  close(): void;
  holdRegistrationLockForTest(partialName?: string): void;
  startCollector(options: { standby: boolean; tickMs?: number }, onEvent: (event: NativeCollectorEvent) => void): void;
  stopCollector(): void;
  setThresholds(thresholds: NativeThreshold[]): void;
}

/** One-line text files that readers may cat at any moment (native/text_files.h). */
export interface NativeTextFiles {
  write(name: string, text: string): void;
  remove(name: string): void;
  close(): void;
}

interface Addon {
  NativeRegion: new (path: string, create: boolean, options: CreateOptions) => NativeRegion;
  NativeTextFiles: new (dir: string, mode: number) => NativeTextFiles;
  layoutVersion: number;
  maxNameBytes: number;
  /** Loads a shared library for func/ptr collectors (RTLD_NOW | RTLD_GLOBAL). */
  dlopen(path: string): void;
  hasSymbol(name: string): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadBinding: (dir: string) => Addon = require('node-gyp-build');

function loadAddon(): Addon {
  try {
    return loadBinding(path.join(__dirname, '..'));
  } catch (error) {
    throw new ShmetricsError(
      `no native binary of shmetrics matches this platform (${process.platform}-${process.arch}, node ${process.version}) ` +
        `and none was built: run "npm rebuild shmetrics" (needs python3, make and a C++ compiler). ` +
        `Cause: ${(error as Error).message}`,
    );
  }
}

export const addon: Addon = loadAddon();

/** Turns an error thrown by the core into the matching shmetrics error class. */
export function translateNativeError(error: unknown, regionPath: string): Error {
  if (!(error instanceof Error)) return new ShmetricsError(String(error));
  const code = (error as Error & { code?: string }).code;
  const reason = error.message.startsWith(`${regionPath}: `) ? error.message.slice(regionPath.length + 2) : error.message;
  switch (code) {
    case 'ERR_SHMETRICS_FORMAT':
      return new RegionFormatError(regionPath, reason);
    case 'ERR_SHMETRICS_OPEN':
    case 'ERR_SHMETRICS_LOCK':
      return new RegionOpenError(regionPath, reason);
    case 'ERR_SHMETRICS_FULL':
      return new RegionFullError(error.message);
    case 'ERR_SHMETRICS_ARGUMENT':
      return new RangeError(error.message);
    default:
      return error;
  }
}

/** Runs a call into the core, translating its errors. */
export function callNative<T>(regionPath: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw translateNativeError(error, regionPath);
  }
}
