import { describe, expect, it } from 'vitest';
import { runSoak } from './soak';

// The chaos soak of test/soak/soak.ts for 60 s (npm run soak runs it for 10 minutes): workers SIGKILLed and
// SIGSTOPped, the master SIGKILLed and restarted with --metrics-dir-restore, every peer restarted; then
// tallies, region and every output must agree, and fds, memory and event-loop lag stay within bounds.
describe('the chaos soak', () => {
  it(
    'loses no update and keeps every output exact, bounded and answering through 60 s of chaos',
    async () => {
      const report = await runSoak({ seconds: 60, workers: 8, log: () => {} });
      process.stdout.write(`\n${report.text}\n`);
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.tally?.lost).toBe(0n);
      expect(report.faults.workerKills).toBeGreaterThan(0);
      expect(report.faults.masterKills).toBe(1);
      expect(report.passed).toBe(true);
    },
    150_000,
  );
});
