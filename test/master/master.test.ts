import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { ROOT, startNode, type Running } from '../helpers/processes';
import { tempDir, tempRegionPath } from '../helpers/regions';
import { eventually, sleep } from '../collect/helpers';

const CLI = path.join(ROOT, 'dist/cli/main.js');
const APP = path.join(__dirname, 'workers/app.js');

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGKILL');
    await r.done;
  }
});

function master(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const r = startNode(CLI, args, env);
  running.push(r);
  return r;
}

/** Waits until `count` workers announced themselves after the first `since` announcements; id -> { port, pid }. */
async function workers(r: Running, count: number, since = 0): Promise<Map<number, { port: number; pid: number }>> {
  const found = new Map<number, { port: number; pid: number }>();
  const deadline = Date.now() + 20_000;
  for (;;) {
    found.clear();
    let seen = 0;
    for (const line of currentStdout(r).split('\n')) {
      const m = /^listening (\d+) (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      if (seen++ < since) continue;
      found.set(Number(m[1]), { port: Number(m[2]), pid: Number(m[3]) });
    }
    if (found.size >= count) return found;
    if (Date.now() > deadline) throw new Error(`only ${found.size} of ${count} workers started:\n${currentStdout(r)}`);
    await sleep(50);
  }
}

const outputs = new WeakMap<Running, string>();
function currentStdout(r: Running): string {
  if (!outputs.has(r)) {
    outputs.set(r, '');
    r.child.stdout!.on('data', (chunk: Buffer) => outputs.set(r, outputs.get(r)! + chunk.toString()));
  }
  return outputs.get(r)!;
}

const agent = new http.Agent({ keepAlive: true });
async function request(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function cli(args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`shmetrics ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

describe('the master', () => {
  it('runs 4 workers; after a fixed number of requests every counter is exact in the region, the metrics-dir and `shmetrics get`', async () => {
    const region = tempRegionPath('master');
    const dir = path.join(tempDir('master'), 'metrics');
    const r = master(['--region', region, '--processes', '4', '--metric', 'app.hits', '--metrics-dir', dir, '--', process.execPath, APP]);
    currentStdout(r);
    const started = await workers(r, 4);
    const perWorker = 25;
    for (const [, { port }] of started) for (let i = 0; i < perWorker; i++) await request(port);
    const m = Metrics.open({ path: region, create: false });
    for (let id = 1; id <= 4; id++) expect(m.get(`worker.${id}.requests`)).toBe(perWorker);
    expect(m.get('app.hits')).toBe(4 * perWorker);
    await eventually(() => m.get('core.total_tx'), (v) => v > 0, 3000);
    await eventually(() => fs.readFileSync(path.join(dir, 'app.hits'), 'utf8'), (t) => t === `${4 * perWorker}\n`, 3000);
    for (let id = 1; id <= 4; id++) {
      expect(fs.readFileSync(path.join(dir, `worker.${id}.requests`), 'utf8')).toBe(`${perWorker}\n`);
      expect(cli(['get', `worker.${id}.requests`, '--region', region])).toBe(`${perWorker}\n`);
    }
    expect(cli(['get', 'app.hits', '--region', region])).toBe(`${4 * perWorker}\n`);
    m.close();
  });

  it('respawns a worker killed with SIGKILL, counts the respawn, and loses no count', async () => {
    const region = tempRegionPath('respawn');
    const r = master(['--region', region, '--processes', '2', '--metric', 'app.hits', '--', process.execPath, APP]);
    currentStdout(r);
    const first = await workers(r, 2);
    for (let i = 0; i < 10; i++) await request(first.get(1)!.port);
    process.kill(first.get(1)!.pid, 'SIGKILL');
    const again = await workers(r, 1, 2);
    const replacement = again.get(1)!;
    expect(replacement.pid).not.toBe(first.get(1)!.pid);
    for (let i = 0; i < 5; i++) await request(replacement.port);
    const m = Metrics.open({ path: region, create: false });
    expect(m.get('worker.1.requests')).toBe(15);
    expect(m.get('worker.1.respawns')).toBe(1);
    expect(m.get('worker.2.respawns')).toBe(0);
    expect(m.get('worker.1.delta_requests')).toBe(5);
    expect(m.get('app.hits')).toBe(15);
    m.close();
  });

  it('SIGHUP replaces the workers one at a time and keeps every metric', async () => {
    const region = tempRegionPath('reload');
    const r = master(['--region', region, '--processes', '2', '--metric', 'app.hits', '--', process.execPath, APP]);
    currentStdout(r);
    const before = await workers(r, 2);
    for (const [, { port }] of before) for (let i = 0; i < 3; i++) await request(port);
    r.child.kill('SIGHUP');
    const after = await workers(r, 2, 2);
    for (const id of [1, 2]) expect(after.get(id)!.pid).not.toBe(before.get(id)!.pid);
    for (const [, { port }] of after) await request(port);
    const m = Metrics.open({ path: region, create: false });
    expect(m.get('app.hits')).toBe(8);
    expect(m.get('worker.1.requests')).toBe(4);
    m.close();
  });

  it('SIGTERM stops the workers gracefully, writes the metrics-dir one last time, and removes a region of its own', async () => {
    const dir = tempDir('term');
    const r = master(['--processes', '2', '--metric', 'app.hits', '--metrics-dir', dir, '--', process.execPath, APP]);
    currentStdout(r);
    const started = await workers(r, 2);
    await request(started.get(2)!.port);
    r.child.kill('SIGTERM');
    const done = await r.done;
    expect(done.code).toBe(0);
    expect(currentStdout(r)).toMatch(/^stopping 1 \d+$/m);
    expect(currentStdout(r)).toMatch(/^stopping 2 \d+$/m);
    expect(fs.readFileSync(path.join(dir, 'app.hits'), 'utf8')).toBe('1\n');
    const own = /region (\/dev\/shm\/shmetrics-\S+),/.exec(done.stderr)![1];
    expect(fs.existsSync(own)).toBe(false);
  });

  it('kill -9 of the master: its workers exit by themselves, and a restart with --metrics-dir-restore resumes every counter', async () => {
    const region = tempRegionPath('kill9');
    const dir = tempDir('kill9');
    const args = ['--region', region, '--processes', '2', '--metric', 'app.hits', '--metrics-dir', dir, '--metrics-dir-restore', '--', process.execPath, APP];
    const first = master(args);
    currentStdout(first);
    const started = await workers(first, 2);
    for (const [, { port }] of started) for (let i = 0; i < 20; i++) await request(port);
    await eventually(() => fs.readFileSync(path.join(dir, 'app.hits'), 'utf8'), (t) => t === '40\n', 3000);
    first.child.kill('SIGKILL');
    await first.done;
    for (const [, { pid }] of started) await eventually(() => isAlive(pid), (alive) => !alive, 5000);
    fs.rmSync(region); // the restart must take the counts from the files alone
    fs.writeFileSync(path.join(dir, 'worker.2.requests'), '1000\n'); // edited by hand
    const second = master(args);
    currentStdout(second);
    const again = await workers(second, 2);
    await request(again.get(1)!.port);
    const m = Metrics.open({ path: region, create: false });
    expect(m.get('app.hits')).toBe(41);
    expect(m.get('worker.1.requests')).toBe(21);
    expect(m.get('worker.2.requests')).toBe(1000);
    m.close();
  });

  it('kill -9 of the master with its region left in place: the restart keeps the region, newer than the files', async () => {
    const region = tempRegionPath('kill9keep');
    const dir = tempDir('kill9keep');
    const args = ['--region', region, '--processes', '1', '--metric', 'app.hits', '--metrics-dir', dir, '--metrics-dir-restore', '--', process.execPath, APP];
    const first = master(args);
    currentStdout(first);
    const started = await workers(first, 1);
    for (let i = 0; i < 5; i++) await request(started.get(1)!.port);
    await eventually(() => fs.readFileSync(path.join(dir, 'app.hits'), 'utf8'), (t) => t === '5\n', 3000);
    const m = Metrics.open({ path: region, create: false });
    m.inc('app.hits', 3); // counted after the last flush: only the region knows
    first.child.kill('SIGKILL');
    await first.done;
    const second = master(args);
    let stderr = '';
    second.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    currentStdout(second);
    await workers(second, 1);
    expect(m.get('app.hits')).toBe(8);
    await eventually(() => fs.readFileSync(path.join(dir, 'app.hits'), 'utf8'), (t) => t === '8\n', 3000);
    expect(stderr).toContain('still holds its metrics, which are newer than');
    m.close();
  });

  it('without a program it is a metrics daemon that other processes attach to by path', async () => {
    const region = tempRegionPath('daemon');
    const dir = tempDir('daemon');
    const r = master(['--region', region, '--metrics-dir', dir, '--metric', 'name=jobs,type=gauge']);
    await eventually(() => fs.existsSync(path.join(dir, 'jobs')), (x) => x, 5000);
    const client = Metrics.open({ path: region, create: false });
    client.set('jobs', 12);
    client.define('late').inc(3);
    await eventually(() => fs.existsSync(path.join(dir, 'late')) && fs.readFileSync(path.join(dir, 'late'), 'utf8'), (t) => t === '3\n', 3000);
    expect(fs.readFileSync(path.join(dir, 'jobs'), 'utf8')).toBe('12\n');
    expect(client.info().collectorPid).toBe(r.child.pid);
    client.close();
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the master with its outputs', () => {
  it('answers snmpget for a worker counter and serves /metrics, both started by the master', async () => {
    const { commandExists, missingPeer } = await import('../helpers/peers');
    const noSnmp = missingPeer('snmpget', commandExists('snmpget'));
    const region = tempRegionPath('outputs');
    const r = master([
      '--region', region, '--processes', '1', '--metric', 'app.hits',
      '--snmp', '127.0.0.1:0', '--snmp-community', 'public', '--http', '127.0.0.1:0',
      '--', process.execPath, APP,
    ]);
    let stderr = '';
    r.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    currentStdout(r);
    const started = await workers(r, 1);
    for (let i = 0; i < 3; i++) await request(started.get(1)!.port);
    const snmpPort = Number(/SNMP agent listening on 127\.0\.0\.1:(\d+)/.exec(await eventually(() => stderr, (t) => /SNMP agent listening/.test(t) && /http: serving/.test(t)))![1]);
    const httpUrl = /http: serving on (http:\/\/\S+\/)/.exec(stderr)![1];
    const metrics = await (await fetch(`${httpUrl}metrics`)).text();
    expect(metrics).toMatch(/^shmetrics_worker_1_requests_total 3$/m);
    if (!noSnmp) {
      const got = spawnSync('snmpget', ['-v2c', '-c', 'public', '-On', '-m', '', `127.0.0.1:${snmpPort}`, '1.3.6.1.4.1.35156.17.3.1.1'], { encoding: 'utf8' });
      expect(got.stdout).toBe('.1.3.6.1.4.1.35156.17.3.1.1 = Counter64: 3\n');
    }
  });
});

describe('the master pushing stats', () => {
  it('pushes every metric to a --stats-push peer every cycle, and once more when it stops', async () => {
    const peer = dgram.createSocket('udp4');
    const lines: string[] = [];
    peer.on('message', (m) => lines.push(m.toString()));
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const port = peer.address().port;
    const region = tempRegionPath('push');
    const r = master([
      '--region', region, '--processes', '1', '--metric', 'app.hits', '--no-builtins',
      '--stats-push', `socket:127.0.0.1:${port},shop`, '--stats-pusher-default-freq', '1',
      '--', process.execPath, APP,
    ]);
    currentStdout(r);
    const started = await workers(r, 1);
    for (let i = 0; i < 4; i++) await request(started.get(1)!.port);
    await eventually(() => lines.includes('shop.app.hits 0 4'), (seen) => seen, 4000);
    await request(started.get(1)!.port);
    r.child.kill('SIGTERM');
    expect((await r.done).code).toBe(0);
    expect(lines).toContain('shop.app.hits 0 5'); // the final push
    peer.close();
  });
});

describe('a worker whose master died before it started', () => {
  it('exits at once instead of running on unwatched', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that no longer runs
    const region = tempRegionPath('orphan');
    const orphan = startNode(APP, [], { SHMETRICS_REGION: region, SHMETRICS_WORKER_ID: '1', SHMETRICS_MASTER_PID: String(dead) });
    const done = await orphan.done;
    expect(done.code).toBe(1);
    expect(done.stderr).toContain(`shmetrics: worker 1: master ${dead} is gone, exiting`);
  });
});
