/**
 * What the soak reads from outside the processes under test: /proc (children, RSS, open descriptors) and
 * every output of the master (metrics-dir files, snmpget, the shmetrics command, GET /metrics).
 */

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process runs (a zombie, dead and not yet reaped, does not). */
export function isAlive(pid: number): boolean {
  return parentOf(pid) !== undefined;
}

/** Sends a signal to one process we started (or the master started); false when it is gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

export interface ProcessInfo {
  pid: number;
  /** argv joined with spaces. */
  command: string;
}

/** State and parent pid from /proc/<pid>/stat; undefined when the process is gone. */
function statOf(pid: number | string): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields after it are what counts.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** The parent of a live process; undefined when it is gone or a zombie. */
export function parentOf(pid: number): number | undefined {
  const stat = statOf(pid);
  return stat && stat.state !== 'Z' ? stat.ppid : undefined;
}

/** The live children of `parent`. */
export function childrenOf(parent: number): ProcessInfo[] {
  const children: ProcessInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (!stat || stat.ppid !== parent || stat.state === 'Z') continue;
    try {
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      children.push({ pid: Number(entry), command });
    } catch {
      // It exited while we looked.
    }
  }
  return children;
}

export interface Usage {
  /** VmRSS, KiB. */
  rssKiB: number;
  /** RssAnon (the process's own heap and stacks), KiB. */
  anonKiB: number;
  fds: number;
}

/** RSS and open descriptors of a process; undefined when it is gone. */
export function usageOf(pid: number): Usage | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), anonKiB: field('RssAnon'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** A metrics-dir file's value; undefined when missing or not an integer. */
export function readMetricsDirValue(dir: string, file: string): bigint | undefined {
  try {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    return /^-?\d+\n$/.test(text) ? BigInt(text.trim()) : undefined;
  } catch {
    return undefined;
  }
}

export const SNMP_BASE = '1.3.6.1.4.1.35156.17';

/**
 * snmpget of `oids` (relative to BASE), in requests of at most 40 varbinds. A Counter64 or Gauge32 is its
 * decimal value; anything else (noSuchObject, a timeout) is reported as the text snmpget printed.
 */
export async function snmpGet(port: number, community: string, oids: readonly string[]): Promise<Map<string, bigint | string>> {
  const values = new Map<string, bigint | string>();
  for (let i = 0; i < oids.length; i += 40) {
    const chunk = oids.slice(i, i + 40);
    let stdout = '';
    try {
      ({ stdout } = await run(
        'snmpget',
        ['-v2c', '-c', community, '-On', '-m', '', '-t', '3', '-r', '1', `127.0.0.1:${port}`, ...chunk.map((oid) => `${SNMP_BASE}.${oid}`)],
        { encoding: 'utf8' },
      ));
    } catch (error) {
      for (const oid of chunk) values.set(oid, `snmpget failed: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const line of stdout.split('\n')) {
      const match = /^\.(\S+) = (.*)$/.exec(line);
      if (!match) continue;
      const oid = match[1].slice(SNMP_BASE.length + 1);
      const value = /^(?:Counter64|Gauge32): (\d+)$/.exec(match[2]);
      values.set(oid, value ? BigInt(value[1]) : match[2]);
    }
  }
  return values;
}

/** `shmetrics ARGS --region REGION` with the built CLI; its stdout, or a thrown error with its stderr. */
export async function cli(cliPath: string, region: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cliPath, ...args, '--region', region], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** One GET on a fresh connection (no keep-alive: the soak's own sockets must not count in the master's fds). */
export function httpGet(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: ${response.statusCode}`))));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** The samples of a Prometheus text body, by series name (unlabelled series only). */
export function parsePrometheus(body: string): Map<string, bigint> {
  const samples = new Map<string, bigint>();
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (-?\d+)$/.exec(line);
    if (match) samples.set(match[1], BigInt(match[2]));
  }
  return samples;
}

/** The Prometheus series of a shmetrics metric (README, "Names and types in Prometheus"), without label-from. */
export function prometheusSeries(name: string, type: string): string {
  const base = `shmetrics_${name.replace(/[.-]/g, '_')}`;
  if (type === 'counter') return `${base}_total`;
  if (type === 'histogram') return `${base}_count`;
  return /_(total|count|sum|bucket)$/.test(base) ? `${base}_value` : base;
}

/** A small seeded generator (mulberry32), so that a run's chaos can be replayed with --seed. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
