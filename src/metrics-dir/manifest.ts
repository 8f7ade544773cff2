import fs from 'node:fs';
import path from 'node:path';
import { DERIVED_SUFFIXES } from '../histogram/derived-series';
import { parseMetricSpec } from '../spec/metric-spec';

/**
 * `DIR/.shmetrics-files`: the definition (canonical --metric spec) of every metric file this view wrote,
 * one per line. It is how the view tells its own files from anybody else's (it only ever removes its
 * own) and how a restore re-defines metrics that were defined at run time.
 */
export class Manifest {
  static readonly FILE = '.shmetrics-files';
  private readonly specs = new Map<string, string>();

  constructor(private readonly dir: string) {
    let text = '';
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) this.specs.set(line.slice(0, space), line.slice(space + 1));
    }
  }

  private get path(): string {
    return path.join(this.dir, Manifest.FILE);
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  spec(name: string): string | undefined {
    return this.specs.get(name);
  }

  /** The files the metric `name` has in the directory: one, or a histogram's derived ones. */
  files(name: string): string[] {
    let histogram = false;
    try {
      histogram = parseMetricSpec(this.specs.get(name) ?? name).type === 'histogram';
    } catch {
      // a line a later version wrote: only the plain file is surely ours
    }
    return histogram ? [...DERIVED_SUFFIXES, 'buckets'].map((suffix) => `${name}.${suffix}`) : [name];
  }

  has(name: string): boolean {
    return this.specs.has(name);
  }

  set(name: string, spec: string): void {
    this.specs.set(name, spec);
  }

  delete(name: string): void {
    this.specs.delete(name);
  }

  /** Written next to the files, then renamed over the old one, like the files themselves. */
  save(mode: number): void {
    const next = `${this.path}.new`;
    fs.writeFileSync(next, [...this.specs].map(([name, spec]) => `${name} ${spec}\n`).join(''), { mode });
    fs.renameSync(next, this.path);
  }
}
