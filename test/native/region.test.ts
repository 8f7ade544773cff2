import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics, RegionFormatError, RegionFullError, RegionOpenError } from '../../src';
import { addon } from '../../src/native';
import { tempDir, tempRegionPath } from '../helpers/regions';

// Header fields a test rewrites; their offsets are fixed by native/layout.h.
const LAYOUT_VERSION_OFFSET = 12;
const METRIC_CAPACITY_OFFSET = 32;

function createRegion(file: string, options = {}): void {
  Metrics.open({ path: file, capacity: 64, ...options }).close();
}

function rewrite(file: string, edit: (bytes: Buffer) => Buffer): void {
  fs.writeFileSync(file, edit(fs.readFileSync(file)));
}

function openError(file: string): unknown {
  try {
    Metrics.open({ path: file, create: false });
  } catch (error) {
    return error;
  }
  throw new Error(`opening ${file} succeeded`);
}

describe('creating a region', () => {
  it('creates a file-backed region with mode 0600 by default, whatever the umask', () => {
    const file = tempRegionPath('mode');
    const previous = process.umask(0o022);
    try {
      createRegion(file);
    } finally {
      process.umask(previous);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('honours an explicit mode', () => {
    const file = tempRegionPath('mode640');
    createRegion(file, { mode: 0o640 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it('works at any path, not only under /dev/shm', () => {
    const file = `${tempDir('anypath')}/metrics.region`;
    const m = Metrics.open({ path: file });
    m.counter('a').inc(3);
    m.close();
    expect(Metrics.open({ path: file, create: false }).get('a')).toBe(3);
  });

  it('records its capacities and reserves every page up front', () => {
    const file = tempRegionPath('geometry');
    const m = Metrics.open({ path: file, capacity: 100, lanes: 8 });
    const info = m.info();
    expect(info).toMatchObject({ metricCapacity: 100, valueCapacity: 400, laneCount: 8, layoutVersion: 3, lane: 0 });
    expect(fs.statSync(file).size).toBe(info.regionBytes);
    expect(fs.statSync(file).blocks * 512).toBeGreaterThanOrEqual(info.regionBytes);
    expect(Math.abs(info.createdUnixMs - Date.now())).toBeLessThan(10_000);
    m.close();
  });

  it('default capacity holds at least 4,096 metrics', () => {
    const file = tempRegionPath('default');
    const m = Metrics.open({ path: file });
    expect(m.info().metricCapacity).toBeGreaterThanOrEqual(4096);
    m.close();
  });

  it('refuses absurd capacities with a RangeError naming the value', () => {
    expect(() => Metrics.open({ path: tempRegionPath('cap0'), capacity: 0 })).toThrow(/metric capacity 0/);
    expect(() => Metrics.open({ path: tempRegionPath('lanes'), lanes: 100_000 })).toThrow(/lane count 100000/);
  });

  it('an attach-only open of a missing file names the path', () => {
    const file = tempRegionPath('missing');
    const error = openError(file);
    expect(error).toBeInstanceOf(RegionOpenError);
    expect(String(error)).toContain(`${file}: no such region`);
  });

  it('a region that is full refuses the next metric with RegionFullError naming it', () => {
    const file = tempRegionPath('full');
    const m = Metrics.open({ path: file, capacity: 3 });
    for (const name of ['a', 'b', 'c']) m.define(name);
    expect(() => m.define('d')).toThrow(RegionFullError);
    expect(() => m.define('d')).toThrow(/all 3 metric slots are used \(cannot add "d"\)/);
    expect(m.list().map((x) => x.name)).toEqual(['a', 'b', 'c']);
    m.close();
  });
});

describe('opening a file that is not a usable region', () => {
  it.each([
    ['a zero-length file', (_: Buffer) => Buffer.alloc(0), 'empty file (0 bytes): not a shmetrics region'],
    ['a foreign file', (_: Buffer) => Buffer.from('#!/bin/sh\necho hello\n'.repeat(400)), 'not a shmetrics region (bad magic)'],
    ['a small foreign file', (_: Buffer) => Buffer.from('hello'), 'not a shmetrics region (bad magic)'],
    ['a region truncated to half', (b: Buffer) => b.subarray(0, b.length >> 1), 'truncated: the file has'],
    ['a region truncated inside its header', (b: Buffer) => b.subarray(0, 100), 'truncated: 100 bytes, smaller than a region header'],
    [
      'a region of an older layout version',
      (b: Buffer) => {
        b.writeUInt32LE(0, LAYOUT_VERSION_OFFSET);
        return b;
      },
      'layout version 0; this build reads version 3',
    ],
    [
      'a region written on a machine of the other byte order',
      (b: Buffer) => {
        b.subarray(0, 8).reverse();
        return b;
      },
      'byte order mismatch',
    ],
    [
      'a region whose header contradicts its sections',
      (b: Buffer) => {
        b.writeUInt32LE(65, METRIC_CAPACITY_OFFSET);
        return b;
      },
      'corrupt header (section offsets do not match the capacities)',
    ],
    ['a region with bytes appended', (b: Buffer) => Buffer.concat([b, Buffer.alloc(4096)]), 'the file has'],
  ])('refuses %s with RegionFormatError', (_label, edit, reason) => {
    const file = tempRegionPath('format');
    createRegion(file);
    rewrite(file, edit);
    const error = openError(file);
    expect(error).toBeInstanceOf(RegionFormatError);
    expect((error as Error).message).toContain(`${file}: ${reason}`);
    expect((error as Error).name).toBe('RegionFormatError');
  });

  it('refuses a directory with the reason the system gave', () => {
    const dir = tempDir('dir');
    const error = openError(dir);
    expect(error).toBeInstanceOf(RegionOpenError);
    expect(String(error)).toContain(`${dir}: cannot open: Is a directory`);
  });

  it('the native core agrees with the TypeScript layer on the name limit', () => {
    expect(addon.maxNameBytes).toBe(127);
    expect(addon.layoutVersion).toBe(3);
  });
});

describe('a region owned by another user', () => {
  it('is refused unless allowForeignOwner is given', () => {
    const file = tempRegionPath('foreign');
    const m = Metrics.open({ path: file });
    m.counter('c').inc(4);
    m.close();
    fs.chownSync(file, 65534, 65534);
    const error = openError(file);
    expect(error).toBeInstanceOf(RegionOpenError);
    expect(String(error)).toContain(`${file}: owned by uid 65534, not by this process's uid ${process.geteuid!()}`);
    const trusted = Metrics.open({ path: file, create: false, allowForeignOwner: true });
    expect(trusted.get('c')).toBe(4);
    trusted.close();
  });
});
