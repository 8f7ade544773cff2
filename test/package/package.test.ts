import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes';

// Asynchronous: a minute of synchronous npm would starve the test worker's own messages.
const npm = async (args: string[], cwd: string) =>
  (await promisify(execFile)('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })).stdout;

/** A copy of the package sources, packed there so that packing never rebuilds this tree's addon under running tests. */
async function packCopy(work: string, withPrebuilds: boolean): Promise<string> {
  const copy = path.join(work, withPrebuilds ? 'src-prebuilt' : 'src-plain');
  fs.mkdirSync(copy);
  for (const entry of ['package.json', 'package-lock.json', 'binding.gyp', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'native', 'src'])
    fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  if (!withPrebuilds) {
    // The fallback: no binary in the tarball, so installing must build one with node-gyp.
    const manifest = JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8'));
    manifest.scripts.prepack = 'npm run build:ts';
    fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify(manifest, null, 2));
  }
  const tarball = (await npm(['pack', '--pack-destination', work], copy)).trim().split('\n').pop()!;
  return path.join(work, tarball);
}

/** An empty project; `allowScripts` is how a user of npm 11 lets a dependency's install script run. */
function project(work: string, name: string, allowScripts?: Record<string, boolean>): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, allowScripts }));
  return dir;
}

const USE = `
const { metrics } = require('shmetrics');
metrics.inc('worker.1.requests', 41);
metrics.inc('worker.1.requests');
console.log(metrics.get('worker.1.requests'), metrics.valueAccess);
`;
const USE_ESM = `
import { metrics, Metrics } from 'shmetrics';
metrics.inc('esm.hits');
console.log(typeof Metrics.open, metrics.get('esm.hits'));
`;

describe('the npm package', () => {
  let work: string;
  let prebuilt: string;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'shmetrics-package-'));
    prebuilt = await packCopy(work, true);
  }, 240_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('ships only what users need: the compiled API with types, the sources to build from, a prebuilt binary', () => {
    const listing = execFileSync('tar', ['-tzf', prebuilt], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/binding.gyp');
    expect(listing).toContain('package/native/layout.h');
    expect(listing.some((f) => /^package\/prebuilds\/linux-x64\/.*\.node$/.test(f))).toBe(true);
    expect(listing.filter((f) => /^package\/(test|bench|src|build|node_modules|\.ci)\//.test(f))).toEqual([]);
  });

  it('installs with install scripts blocked (npm 11) and works from require and import', async () => {
    const dir = project(work, 'consumer');
    await npm(['install', '--ignore-scripts', prebuilt], dir);
    expect(execFileSync(process.execPath, ['-e', USE], { cwd: dir, encoding: 'utf8' })).toBe('42 typed-array\n');
    fs.writeFileSync(path.join(dir, 'use.mjs'), USE_ESM);
    expect(execFileSync(process.execPath, ['use.mjs'], { cwd: dir, encoding: 'utf8' })).toBe('function 1\n');
    const help = spawnSync(path.join(dir, 'node_modules/.bin/shmetrics'), ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: shmetrics/);
  });

  it('without a matching prebuilt binary, installing builds the addon with node-gyp', async () => {
    const plain = await packCopy(work, false);
    expect(execFileSync('tar', ['-tzf', plain], { encoding: 'utf8' })).not.toMatch(/prebuilds\//);
    const dir = project(work, 'builder', { shmetrics: true });
    await npm(['install', plain], dir);
    expect(fs.existsSync(path.join(dir, 'node_modules/shmetrics/build/Release/shmetrics.node'))).toBe(true);
    expect(execFileSync(process.execPath, ['-e', USE], { cwd: dir, encoding: 'utf8' })).toBe('42 typed-array\n');
  }, 240_000);
});
