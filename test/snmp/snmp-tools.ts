import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Metrics } from '../../src';
import type { SnmpAgent } from '../../src/snmp';
import { commandExists, missingPeer } from '../helpers/peers';

/** Debian's `snmp` package: every tool the tests run. */
export const SNMP_TOOLS = ['snmpget', 'snmpgetnext', 'snmpwalk', 'snmpbulkwalk', 'snmpbulkget', 'snmpset', 'snmptranslate', 'snmptable'];

export function missingSnmpTools(): string | undefined {
  return missingPeer('snmp (Debian net-snmp tools)', SNMP_TOOLS.every(commandExists), 'apt-get install snmp');
}

export const BASE = '.1.3.6.1.4.1.35156.17';
export const MIB_FILE = path.resolve(__dirname, '../../SHMETRICS-MIB.txt');

export interface ToolResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * The tools read no user or system configuration (SNMPCONFPATH) and keep their persistent files in a
 * directory of the test's own, not /var/lib/snmp.
 */
export class SnmpTools {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmetrics-snmp-tools-'));

  constructor(readonly port: number) {
    // The tools announce "Created directory: ..." on stderr the first time otherwise.
    for (const sub of ['cert_indexes', 'mib_indexes']) fs.mkdirSync(path.join(this.dir, sub));
  }

  /** Runs a tool asynchronously (the agent under test shares this event loop). */
  run(tool: string, args: string[]): Promise<ToolResult> {
    return new Promise((resolve) => {
      execFile(
        tool,
        args,
        { env: { ...process.env, SNMPCONFPATH: this.dir, SNMP_PERSISTENT_DIR: this.dir, MIBS: '' }, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolve({ stdout, stderr, code });
        },
      );
    });
  }

  /** A tool against the agent with v2c/public, numeric OIDs and no MIB: output independent of the machine. */
  v2c(tool: string, ...args: string[]): Promise<ToolResult> {
    return this.run(tool, ['-v2c', '-c', 'public', '-On', '-m', '', `127.0.0.1:${this.port}`, ...args]);
  }

  v1(tool: string, ...args: string[]): Promise<ToolResult> {
    return this.run(tool, ['-v1', '-c', 'public', '-On', '-m', '', `127.0.0.1:${this.port}`, ...args]);
  }

  v3(tool: string, ...args: string[]): Promise<ToolResult> {
    return this.run(tool, [...V3_ARGS, '-On', '-m', '', `127.0.0.1:${this.port}`, ...args]);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export const V3_USER = { user: 'metrics', authKey: 'metrics-auth-pass', privKey: 'metrics-priv-pass' };
export const V3_ARGS = ['-v3', '-l', 'authPriv', '-u', V3_USER.user, '-a', 'SHA', '-A', V3_USER.authKey, '-x', 'AES', '-X', V3_USER.privKey];

/** A fresh region file of the test's own (removed by the caller), openable by path from other instances. */
export function regionPath(label: string): string {
  return `/dev/shm/shmetrics-test-snmp-${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Tears down what a suite's beforeAll started, whichever parts of it got as far as starting. */
export async function closeAgentRun(run: { agent?: SnmpAgent; metrics?: Metrics; tools?: SnmpTools; path: string }): Promise<void> {
  await run.agent?.close();
  run.metrics?.close();
  run.tools?.remove();
  fs.rmSync(run.path, { force: true });
}

/** The OIDs of `snmpwalk -On` output lines, in order. */
export function walkedOids(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(0, line.indexOf(' = ')));
}

/** Arc-by-arc order of dotted OIDs (a prefix first). */
export function compareDotted(a: string, b: string): number {
  const x = a.replace(/^\./, '').split('.').map(Number);
  const y = b.replace(/^\./, '').split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
