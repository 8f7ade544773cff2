import { spawnSync } from 'node:child_process';

/**
 * Whether a real peer (a daemon or a tool a test talks to) is here. Locally a missing peer makes its
 * tests skip with a loud reason; under CI=true it is a failure, since .ci/run installs every peer.
 * Use: `const missing = missingPeer('snmpget', commandExists('snmpget'));` then `describe.skipIf(missing)`.
 */
export function missingPeer(peer: string, available: boolean, install = 'run .ci/run, which installs it'): string | undefined {
  if (available) return undefined;
  const reason = `peer "${peer}" is missing (${install})`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
  process.stderr.write(`\n!!! SKIPPING tests that need ${reason}\n\n`);
  return reason;
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
