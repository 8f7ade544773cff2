import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { runWorker } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';

const MUTATIONS = 400;
const BATCH = 50;

/** A region with every kind of entry: counters, gauges, an alias, a sum, a histogram, values in lanes. */
function sampleRegion(file: string): void {
  const m = Metrics.open({ path: file, capacity: 32, lanes: 4 });
  m.counter('c').inc(7);
  m.gauge('g').set(-3);
  m.define('name=al,type=alias,alias=g');
  m.define('name=s,collector=sum,children=c;g');
  m.histogram('h', '1;10;100').observe(5);
  m.close();
}

describe('corrupted region files', () => {
  it(`random byte flips and truncations of a valid region (${MUTATIONS}) either open or are refused with a clear error, never a crash`, async () => {
    const dir = tempDir('fuzz-region');
    const original = tempRegionPath('fuzz-source');
    sampleRegion(original);
    const bytes = fs.readFileSync(original);
    // The header page and the metas hold the structure: flip bytes there more often than in the values.
    const structured = 4096 * 3;
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const files: string[] = [];
    for (let i = 0; i < MUTATIONS; i++) {
      let mutated: Buffer;
      if (i % 10 === 9) {
        mutated = bytes.subarray(0, random(bytes.length));
      } else {
        mutated = Buffer.from(bytes);
        const flips = 1 + random(8);
        for (let f = 0; f < flips; f++) {
          const at = random(2) === 0 ? random(structured) : random(mutated.length);
          mutated[at] ^= 1 << random(8);
        }
      }
      const file = path.join(dir, `m${i}`);
      fs.writeFileSync(file, mutated, { mode: 0o600 });
      files.push(file);
    }
    const lines: string[] = [];
    for (let i = 0; i < files.length; i += BATCH) {
      const out = await runWorker(path.join(__dirname, 'workers/open-each.js'), files.slice(i, i + BATCH));
      lines.push(...out.trim().split('\n'));
    }
    expect(lines).toHaveLength(MUTATIONS);
    const refused = lines.filter((l) => / refused /.test(l));
    for (const line of refused) expect(line).toMatch(/ refused (RegionFormatError|RegionOpenError|RegionFullError|MetricWriteError|MetricConflictError|UnknownMetricError): \S/);
    const opened = lines.filter((l) => / ok \d+$/.test(l)).length;
    expect(opened + refused.length).toBe(MUTATIONS);
    // Both outcomes are exercised: flips in values open fine, flips in the header are refused.
    expect(opened).toBeGreaterThan(MUTATIONS / 10);
    expect(refused.length).toBeGreaterThan(MUTATIONS / 10);
  }, 120_000);
});
