import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Tests spawn real processes that load the compiled package from dist/: compile it once, before any test
 * file runs, so that no build rewrites dist/ while a worker is loading it.
 */
export default function setup(): void {
  if (process.env.SHMETRICS_TEST_SKIP_BUILD === '1') return; // dist/ built already (by .ci/run, or by hand)
  execFileSync('npm', ['run', 'build:ts'], { cwd: path.resolve(__dirname, '..'), stdio: 'inherit' });
}
