import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes';

describe('the native unit tests (region, value protocol, collectors, text files without Node)', () => {
  it('all pass', () => {
    const binary = path.join(ROOT, 'build/Release/shmetrics_native_tests');
    const result = spawnSync(binary, { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/\d+ tests, 0 failed checks\n$/);
    expect(result.status).toBe(0);
  });
});
