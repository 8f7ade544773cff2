/**
 * The chaos soak: a master with N workers (test/soak/workers/soak-worker.js) hammering shared counters,
 * gauges, a histogram and counters they define at run time, with every output on (metrics-dir, SNMP, HTTP,
 * the stats pushers against real peers), while a chaos loop SIGKILLs and SIGSTOPs workers, SIGKILLs the
 * master once and restarts it with --metrics-dir-restore, and stops and restarts every peer. At the end the
 * workers are paused, and their own tallies, the region and every output must agree; descriptors, memory
 * and the master's event-loop lag must have stayed within the bounds below.
 *
 * Run by `npm run soak` (test/soak/run-soak.js, 10 minutes by default) and, for 60 s, by soak.test.ts.
 * It drives the built package (dist/), as a user would.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as Api from '../../src';
import { commandExists, missingPeer } from '../helpers/peers';
import { ROOT, startNode, type Running } from '../helpers/processes';
import { SoakPeers, type PeerCycle } from './peers';
import {
  childrenOf,
  cli,
  httpGet,
  isAlive,
  parentOf,
  parsePrometheus,
  prometheusSeries,
  randomSource,
  readMetricsDirValue,
  signal,
  sleep,
  snmpGet,
  usageOf,
} from './probes';
import { formatReport } from './report';
import { compareTally, liveIncarnations, readIncarnations, type TallyComparison } from './tally';

const { Metrics } = require(path.join(ROOT, 'dist')) as typeof Api;
type Metrics = Api.Metrics;

const CLI = path.join(ROOT, 'dist/cli/main.js');
const WORKER = path.join(__dirname, 'workers/soak-worker.js');
const COMMUNITY = 'soak';

/**
 * The documented bounds. Each says why it has its value; the README's soak paragraph quotes them.
 */
export const BOUNDS = {
  /** worker.0.event_loop_lag (the master's p99 per second): a 2-vCPU VM shared with other jobs. */
  maxLagMs: 250,
  /** The master's open descriptors at the end, over its count at the steady point: reconnects replace sockets and pipes, never add. */
  masterFdSlack: 8,
  /** A worker's open descriptors over its count after WORKER_WARM_UP_MS. */
  workerFdSlack: 4,
  /** The master's VmRSS, ever (V8 heap, the region's touched pages, one mapped page per metrics-dir file): ~75 MiB measured. */
  masterRssMiB: 250,
  /**
   * The master's VmRSS growth from the steady point to the freeze (when workers stop defining metrics, at
   * 70 % of the run): a fixed allowance for V8's heap to settle, plus what each metric defined meanwhile
   * legitimately costs (a 2.4 KB history ring, a 4 KiB metrics-dir page, catalog, SNMP index and push
   * samples): ~17 KiB measured.
   */
  masterRssGrowthMiB: 32,
  masterRssPerNewMetricKiB: 24,
  /** The master's VmRSS growth from the freeze to the end, with a constant set of metrics: what a leak would show. */
  masterRssFrozenGrowthMiB: 16,
  /** A worker's VmRSS, ever: ~60 MiB measured (Node itself is ~45). */
  workerRssMiB: 120,
  /** The metrics-dir catches up with a region that survived the master within one tick (1 s), plus scheduling. */
  catchUpMs: 1500,
} as const;

export interface SoakOptions {
  seconds: number;
  workers: number;
  seed?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Faults {
  workerKills: number;
  workerStops: number;
  stoppedSeconds: number;
  masterKills: number;
  peerCycles: PeerCycle[];
}

export interface SoakReport {
  options: Required<Omit<SoakOptions, 'log'>>;
  startedAt: Date;
  elapsedSeconds: number;
  tally?: TallyComparison;
  /** Increments --metrics-dir-restore took back from the region that survived the master (must be 0). */
  rewoundByRestore: bigint;
  increments: bigint;
  observations: bigint;
  definedAtRunTime: number;
  outputsCompared: number;
  faults: Faults;
  lagMaxMs: number;
  masterRssPeakMiB: number;
  /** VmRSS at the steady point, at the freeze and at the end; metrics defined in between; the allowance. */
  masterRss?: { steadyMiB: number; frozenMiB: number; endMiB: number; newMetrics: number; growthAllowedMiB: number };
  masterFds?: { steady: number; end: number };
  workerRssPeakMiB: number;
  workerFdGrowthMax: number;
  missingPeers: string[];
  checks: SoakCheck[];
  passed: boolean;
  text: string;
}

/** One master process and what it printed. */
interface MasterRun {
  running: Running;
  pid: number;
  stderr: () => string;
  snmpPort?: number;
  httpUrl?: string;
  readyAt: number;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const seconds = options.seconds;
  const workers = options.workers;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const log = options.log ?? ((line: string) => process.stderr.write(`soak: ${line}\n`));
  const random = randomSource(seed);
  const startedAt = new Date();
  const t0 = Date.now();
  const checks: SoakCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    if (!ok) log(`FAILED: ${name}: ${detail}`);
  };

  const noSnmp = missingPeer('snmpget', commandExists('snmpget'));
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'shmetrics-soak-'));
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const regionPath = `/dev/shm/shmetrics-soak-${tag}`;
  const tallyPath = `/dev/shm/shmetrics-soak-tally-${tag}`;
  const metricsDir = path.join(dir, 'metrics');
  const peers = new SoakPeers(dir);
  const faults: Faults = { workerKills: 0, workerStops: 0, stoppedSeconds: 0, masterKills: 0, peerCycles: [] };
  let master: MasterRun | undefined;
  let region: Metrics | undefined;
  let tally: Metrics | undefined;
  const stopped = new Set<number>();
  const seenWorkerPids = new Set<number>();
  let done = false;

  const report: Omit<SoakReport, 'checks' | 'passed' | 'text'> = {
    options: { seconds, workers, seed },
    startedAt,
    elapsedSeconds: 0,
    increments: 0n,
    observations: 0n,
    rewoundByRestore: 0n,
    definedAtRunTime: 0,
    outputsCompared: 0,
    faults,
    lagMaxMs: 0,
    masterRssPeakMiB: 0,
    workerRssPeakMiB: 0,
    workerFdGrowthMax: 0,
    missingPeers: [],
  };

  try {
    log(`seed ${seed}: ${seconds} s, ${workers} workers; starting the peers`);
    await peers.start();
    report.missingPeers = [...peers.missing, ...(noSnmp ? [noSnmp] : [])];
    tally = Metrics.open({ path: tallyPath, capacity: 16384, lanes: 16 });
    const pause = tally.gauge('control.pause');
    const defining = tally.gauge('control.define');
    defining.set(1);

    const masterArgs = [
      '--region', regionPath,
      '--processes', String(workers),
      '--capacity', '8192',
      '--metrics-dir', metricsDir,
      '--metrics-dir-restore',
      '--snmp', '127.0.0.1:0', '--snmp-community', COMMUNITY,
      '--http', '127.0.0.1:0',
      '--stats-pusher-default-freq', '2',
      ...peers.pushOptions(),
      ...soakMetricOptions(workers),
      '--', process.execPath, WORKER,
    ];
    const masterEnv = { SOAK_TALLY: tallyPath };
    const startMaster = async (): Promise<MasterRun> => {
      const running = startNode(CLI, masterArgs, masterEnv);
      let stderr = '';
      running.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const pid = running.child.pid!;
      const deadline = Date.now() + 30_000;
      while (!stderr.includes(`master ${pid}: region`)) {
        if (running.child.exitCode !== null || Date.now() > deadline) throw new Error(`the master did not start:\n${stderr}`);
        await sleep(20);
      }
      return {
        running,
        pid,
        stderr: () => stderr,
        snmpPort: Number(/SNMP agent listening on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]) || undefined,
        httpUrl: /http: serving on (http:\/\/\S+\/)/.exec(stderr)?.[1],
        readyAt: Date.now(),
      };
    };

    master = await startMaster();
    region = Metrics.open({ path: regionPath, create: false });
    const r = region;
    log(`master ${master.pid} ready; chaos for ${seconds} s`);
    const soakStart = Date.now();
    const soakEnd = soakStart + seconds * 1000;

    // --- sampling: lag, memory, descriptors, counters going backwards, outputs answering -----------------
    let masterDown = false;
    let lagMaxUs = 0;
    let masterRssPeak = 0;
    let workerRssPeak = 0;
    const workerFdBaseline = new Map<number, { since: number; fds?: number }>();
    let workerFdGrowth = 0;
    let steady: { fds: number; rssKiB: number; metrics: number } | undefined;
    let frozen: { rssKiB: number; metrics: number } | undefined;
    let lastSharedSum = -1n;
    const regressions: string[] = [];
    const scrapes = { http: 0, httpFailed: [] as string[], snmp: 0, snmpFailed: [] as string[] };
    const unexpectedExits: string[] = [];
    const sharedNames = Array.from({ length: SHARED }, (_, s) => `soak.shared.${s}`);
    let tick = 0;
    const sampler = (async () => {
      while (!done) {
        tick++;
        const m = master!;
        if (!masterDown) {
          if ((m.running.child.exitCode !== null || m.running.child.signalCode !== null) && unexpectedExits.length === 0)
            unexpectedExits.push(
              `master ${m.pid} exited by itself: ${m.running.child.exitCode ?? m.running.child.signalCode}; its last words: ${m.stderr().trim().split('\n').slice(-3).join(' | ')}`,
            );
          if (Date.now() - m.readyAt > 2000) lagMaxUs = Math.max(lagMaxUs, r.get('worker.0.event_loop_lag'));
          const usage = usageOf(m.pid);
          if (usage) masterRssPeak = Math.max(masterRssPeak, usage.rssKiB);
        }
        for (const child of childrenOf(m.pid)) {
          if (!child.command.includes('soak-worker.js')) continue;
          seenWorkerPids.add(child.pid);
          const usage = usageOf(child.pid);
          if (!usage) continue;
          workerRssPeak = Math.max(workerRssPeak, usage.rssKiB);
          // A worker's baseline is taken once it has run a few seconds: Node opens some descriptors lazily.
          const seen = workerFdBaseline.get(child.pid) ?? { since: Date.now() };
          workerFdBaseline.set(child.pid, seen);
          if (Date.now() - seen.since < WORKER_WARM_UP_MS) continue;
          if (seen.fds === undefined) seen.fds = usage.fds;
          else workerFdGrowth = Math.max(workerFdGrowth, usage.fds - seen.fds);
        }
        let sum = 0n;
        for (const name of sharedNames) sum += r.getBigInt(name);
        if (sum < lastSharedSum) regressions.push(`${((Date.now() - soakStart) / 1000).toFixed(1)} s: Σ soak.shared.* went from ${lastSharedSum} to ${sum}`);
        lastSharedSum = sum;
        if (tick % 2 === 0 && !masterDown) {
          const at = `${((Date.now() - soakStart) / 1000).toFixed(0)} s`;
          const scrape = m.httpUrl
            ? httpGet(`${m.httpUrl}metrics`).then(
                (body) => {
                  if (masterDown || m !== master) return;
                  if (parsePrometheus(body).has('shmetrics_soak_shared_0_total')) scrapes.http++;
                  else scrapes.httpFailed.push(`${at}: /metrics lacks soak.shared.0`);
                },
                (error: Error) => !masterDown && m === master && scrapes.httpFailed.push(`${at}: ${error.message}`),
              )
            : Promise.resolve();
          const get =
            m.snmpPort && !noSnmp
              ? snmpGet(m.snmpPort, COMMUNITY, ['100.1']).then((values) => {
                  if (masterDown || m !== master) return;
                  if (typeof values.get('100.1') === 'bigint') scrapes.snmp++;
                  else scrapes.snmpFailed.push(`${at}: ${values.get('100.1')}`);
                })
              : Promise.resolve();
          await Promise.all([scrape, get]);
        }
        await sleep(1000);
      }
    })();

    // --- chaos: workers and the master ---------------------------------------------------------------
    const workerPids = () => childrenOf(master!.pid).filter((c) => c.command.includes('soak-worker.js')).map((c) => c.pid);
    const restartReport: { rewound: string[]; rewoundTotal: bigint; catchUpMs?: number; catchUpProblem?: string } = { rewound: [], rewoundTotal: 0n };
    const orphans: string[] = [];
    const killMaster = async () => {
      const old = master!;
      // Every worker of the old master, those still starting included (they registered in the tally).
      const oldWorkers = [...new Set([...workerPids(), ...liveIncarnations(readIncarnations(tally!)).map((i) => i.pid)])];
      const counters = () => r.list().filter((info) => info.name.startsWith('soak.') && info.type !== 'gauge');
      log(`SIGKILL master ${old.pid}`);
      masterDown = true;
      faults.masterKills++;
      signal(old.pid, 'SIGKILL');
      await old.running.done;
      // Its workers notice within a second that the master is gone, and exit (through JavaScript).
      const gone = Date.now() + 10_000;
      while (oldWorkers.some(isAlive) && Date.now() < gone) await sleep(50);
      for (const pid of oldWorkers.filter(isAlive)) {
        orphans.push(`pid ${pid} still ran 10 s after its master was SIGKILLed`);
        signal(pid, 'SIGKILL');
      }
      const before = new Map(counters().map((info) => [info.name, r.getBigInt(info.name)]));
      master = await startMaster();
      // Logged after the restore and before any worker starts: what the restore left.
      const readyValues = new Map(counters().map((info) => [info.name, r.getBigInt(info.name)]));
      masterDown = false;
      log(`master ${master.pid} restarted with --metrics-dir-restore`);
      for (const [name, value] of before) {
        const after = readyValues.get(name)!;
        if (after < value) {
          restartReport.rewound.push(`${name} ${value} -> ${after}`);
          restartReport.rewoundTotal += value - after;
        }
      }
      // The region survived the master: within a tick every file holds at least what the region held at the kill.
      const deadline = master.readyAt + 5000;
      for (;;) {
        const behind = [...before].filter(([name, value]) => {
          const file = readMetricsDirValue(metricsDir, name === 'soak.latency' ? 'soak.latency.count' : name);
          return file === undefined || file < value;
        });
        if (behind.length === 0) {
          restartReport.catchUpMs = Date.now() - master.readyAt;
          break;
        }
        if (Date.now() > deadline) {
          restartReport.catchUpProblem = `${behind.length} files still behind after 5 s, e.g. ${behind[0][0]}`;
          break;
        }
        await sleep(50);
      }
    };

    // From 70 % of the run on, no new metric: the master's memory must then stay flat.
    const freeze = (async () => {
      await sleep(Math.max(0, soakStart + seconds * 700 - Date.now()));
      defining.set(0);
      await sleep(3000);
      const usage = usageOf(master!.pid);
      if (usage) frozen = { rssKiB: usage.rssKiB, metrics: r.list().length };
      log(`no more definitions: master VmRSS ${((usage?.rssKiB ?? 0) / 1024).toFixed(0)} MiB, ${r.list().length} metrics`);
    })();

    const chaos = (async () => {
      const masterKillAt = soakStart + seconds * 250;
      const chaosEnd = soakStart + seconds * 900;
      let masterKilled = false;
      let faultRound = 0;
      await sleep(3000);
      while (Date.now() < chaosEnd) {
        if (!masterKilled && Date.now() >= masterKillAt) {
          masterKilled = true;
          await killMaster();
          const settle = Math.min(10_000, seconds * 100);
          await sleep(settle);
          const usage = usageOf(master!.pid);
          if (usage) steady = { fds: usage.fds, rssKiB: usage.rssKiB, metrics: r.list().length };
          log(`steady point: master fds ${usage?.fds}, VmRSS ${((usage?.rssKiB ?? 0) / 1024).toFixed(0)} MiB`);
          continue;
        }
        const pids = workerPids().filter((pid) => !stopped.has(pid));
        if (pids.length > 0) {
          const pid = pids[Math.floor(random() * pids.length)];
          // Two SIGKILL rounds (of one or two workers at once), then one SIGSTOP, over and over.
          if (++faultRound % 3 !== 0) {
            const victims = random() < 0.3 ? [pid, pids[Math.floor(random() * pids.length)]] : [pid];
            for (const victim of new Set(victims)) if (signal(victim, 'SIGKILL')) faults.workerKills++;
          } else if (signal(pid, 'SIGSTOP')) {
            stopped.add(pid);
            faults.workerStops++;
            const ms = 1000 + Math.floor(random() * 3000);
            faults.stoppedSeconds += ms / 1000;
            await sleep(ms);
            signal(pid, 'SIGCONT');
            stopped.delete(pid);
          }
        }
        await sleep(1000 + Math.floor(random() * 2000));
      }
    })();

    const peerChaos = (async () => {
      // At 40 % of the run, then every 100 s while before 85 %.
      const times = [0.4 * seconds];
      while (times[times.length - 1] + 100 < 0.85 * seconds) times.push(times[times.length - 1] + 100);
      for (const at of times) {
        const wait = soakStart + at * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
        log(`stopping and restarting every peer (${at.toFixed(0)} s)`);
        const cycles = await peers.cycle(() => master!.pid);
        faults.peerCycles.push(...cycles);
        log(`peers back: ${cycles.map((c) => `${c.peer} ${c.reconnectMs !== undefined ? `${(c.reconnectMs / 1000).toFixed(1)} s` : `FAILED (${c.error})`}`).join(', ')}`);
      }
    })();

    await Promise.all([chaos, peerChaos, freeze, sleep(Math.max(0, soakEnd - Date.now()))]);
    for (const pid of stopped) signal(pid, 'SIGCONT');

    // --- quiesce: pause every worker, wait one tick ---------------------------------------------------
    log('pausing the workers');
    pause.set(1);
    const pauseDeadline = Date.now() + 20_000;
    for (;;) {
      const live = liveIncarnations(readIncarnations(tally));
      for (const orphan of live.filter((i) => parentOf(i.pid) !== master!.pid)) {
        orphans.push(`pid ${orphan.pid} (worker ${orphan.worker}) runs with parent ${parentOf(orphan.pid)}, not the master`);
        signal(orphan.pid, 'SIGKILL');
      }
      if (live.length > 0 && live.every((i) => i.paused) && live.length >= workers) break;
      if (Date.now() > pauseDeadline) {
        check('workers pause', false, `${live.filter((i) => !i.paused).length} of ${live.length} live workers did not pause within 20 s`);
        break;
      }
      await sleep(50);
    }
    await sleep(1200);

    // --- the numbers: region, tally, every output -----------------------------------------------------
    report.rewoundByRestore = restartReport.rewoundTotal;
    const m = master;
    const soakInfos = r.list().filter((info) => info.name.startsWith('soak.'));
    const regionValues = new Map(soakInfos.map((info) => [info.name, r.getBigInt(info.name)]));
    const counterValues = new Map([...regionValues].filter(([name]) => soakInfos.find((i) => i.name === name)!.type !== 'gauge'));
    const incarnations = readIncarnations(tally);
    const comparison = compareTally(incarnations, counterValues);
    report.tally = comparison;
    for (const [name, value] of counterValues) {
      if (name === 'soak.latency') report.observations = value;
      else report.increments += value;
    }
    report.definedAtRunTime = soakInfos.filter((i) => i.name.startsWith('soak.dyn.')).length;
    check(
      'lost updates = 0',
      comparison.lost === 0n && comparison.problems.filter((p) => p.includes('not in the region')).length === 0,
      comparison.lost === 0n
        ? `region >= Σ completed on all ${comparison.counters} counters`
        : `${comparison.lost} lost on ${comparison.lostCounters.length} counters` +
            (restartReport.rewoundTotal > 0n ? ` (the restore rewound ${restartReport.rewoundTotal} increments)` : '') +
            `: ${comparison.lostCounters.slice(0, 2).join(', ')}${comparison.lostCounters.length > 2 ? ', ...' : ''}`,
    );
    check(
      'in-flight at kills within bound',
      comparison.withinBound && comparison.problems.length === 0,
      comparison.problems.length > 0
        ? comparison.problems.slice(0, 3).join('; ')
        : `${comparison.inFlight} increments on ${comparison.inFlightCounters} counters <= ${comparison.killed} killed incarnations × 3`,
    );

    const mismatches: string[] = [];
    const compare = (source: string, name: string, got: bigint | string | undefined) => {
      const want = regionValues.get(name);
      if (got !== want) mismatches.push(`${source} ${name}: ${String(got)} (region ${want})`);
    };
    for (const info of soakInfos) compare('metrics-dir', info.name, readMetricsDirValue(metricsDir, info.type === 'histogram' ? `${info.name}.count` : info.name));
    if (m.snmpPort && !noSnmp) {
      const withOid = soakInfos.filter((info) => info.oid);
      const values = await snmpGet(m.snmpPort, COMMUNITY, withOid.map((info) => info.oid!));
      for (const info of withOid) compare('snmpget', info.name, values.get(info.oid!));
    }
    const listed = JSON.parse(await cli(CLI, regionPath, ['ls', '--json', 'soak.'])) as { metrics: { name: string; value: number | string }[] };
    for (const entry of listed.metrics) compare('shmetrics ls', entry.name, BigInt(entry.value));
    if (listed.metrics.length !== soakInfos.length) mismatches.push(`shmetrics ls listed ${listed.metrics.length} soak metrics, the region has ${soakInfos.length}`);
    const sampled = soakInfos.filter((info) => !info.name.startsWith('soak.dyn.') || random() < 16 / Math.max(16, report.definedAtRunTime));
    for (const info of sampled) {
      const text = await cli(CLI, regionPath, ['get', info.name]).catch((error: Error) => error.message);
      compare('shmetrics get', info.name, /^-?\d+\n$/.test(text) ? BigInt(text.trim()) : text);
    }
    if (m.httpUrl) {
      const samples = parsePrometheus(await httpGet(`${m.httpUrl}metrics`, 15_000));
      for (const info of soakInfos) compare('/metrics', info.name, samples.get(prometheusSeries(info.name, info.type)));
    }
    report.outputsCompared = soakInfos.length;
    check(
      'outputs agree with the region',
      mismatches.length === 0,
      mismatches.length === 0 ? `${soakInfos.length} metrics: metrics-dir = snmpget = shmetrics ls/get (${sampled.length}) = /metrics` : `${mismatches.length} mismatches: ${mismatches.slice(0, 4).join('; ')}`,
    );

    // --- the restart ----------------------------------------------------------------------------------
    check(
      'master restart kept the surviving region',
      restartReport.rewound.length === 0,
      restartReport.rewound.length === 0
        ? 'no counter went below its value at the kill'
        : `--metrics-dir-restore set ${restartReport.rewound.length} counters back to their files, ${restartReport.rewoundTotal} increments in all (e.g. ${restartReport.rewound.slice(0, 2).join(', ')})`,
    );
    check(
      'metrics-dir caught up after the restart',
      restartReport.catchUpMs !== undefined && restartReport.catchUpMs <= BOUNDS.catchUpMs,
      restartReport.catchUpMs !== undefined
        ? `to the values at the kill in ${restartReport.catchUpMs} ms (bound ${BOUNDS.catchUpMs})`
        : `${restartReport.catchUpProblem ?? 'the master was not restarted'}${restartReport.rewoundTotal > 0n ? ' (the region itself was rewound)' : ''}`,
    );
    check(
      'workers exit when their master is gone',
      orphans.length === 0,
      orphans.length === 0 ? 'every worker of the SIGKILLed master exited by itself; none outside the master at the end' : orphans.join('; '),
    );
    check('counters never went backwards', regressions.length === 0, regressions.length === 0 ? `Σ soak.shared.* sampled every second` : regressions.slice(0, 2).join('; '));

    // --- peers, outputs during the run, resources -----------------------------------------------------
    const failedCycles = faults.peerCycles.filter((c) => c.reconnectMs === undefined);
    check(
      'pushers delivered again after every peer restart',
      failedCycles.length === 0 && faults.peerCycles.length > 0,
      failedCycles.length === 0 ? `${faults.peerCycles.length} restarts` : failedCycles.map((c) => `${c.peer}: ${c.error}`).join('; '),
    );
    check(
      'HTTP and SNMP answered throughout',
      scrapes.httpFailed.length === 0 && scrapes.snmpFailed.length === 0 && scrapes.http > 0,
      `${scrapes.http} scrapes, ${scrapes.snmp} snmpgets` + [...scrapes.httpFailed, ...scrapes.snmpFailed].slice(0, 3).map((f) => `; ${f}`).join(''),
    );
    report.lagMaxMs = lagMaxUs / 1000;
    check('master event-loop lag', report.lagMaxMs <= BOUNDS.maxLagMs, `max ${report.lagMaxMs.toFixed(1)} ms (bound ${BOUNDS.maxLagMs})`);
    const endUsage = usageOf(m.pid);
    report.masterRssPeakMiB = masterRssPeak / 1024;
    report.workerRssPeakMiB = workerRssPeak / 1024;
    report.workerFdGrowthMax = workerFdGrowth;
    if (steady && frozen && endUsage) {
      report.masterFds = { steady: steady.fds, end: endUsage.fds };
      const newMetrics = frozen.metrics - steady.metrics;
      report.masterRss = {
        steadyMiB: steady.rssKiB / 1024,
        frozenMiB: frozen.rssKiB / 1024,
        endMiB: endUsage.rssKiB / 1024,
        newMetrics,
        growthAllowedMiB: BOUNDS.masterRssGrowthMiB + (newMetrics * BOUNDS.masterRssPerNewMetricKiB) / 1024,
      };
      const { steadyMiB, frozenMiB, endMiB, growthAllowedMiB } = report.masterRss;
      check('master descriptors', endUsage.fds <= steady.fds + BOUNDS.masterFdSlack, `${steady.fds} at the steady point, ${endUsage.fds} at the end (bound +${BOUNDS.masterFdSlack})`);
      check(
        'master memory',
        report.masterRssPeakMiB <= BOUNDS.masterRssMiB && frozenMiB - steadyMiB <= growthAllowedMiB && endMiB - frozenMiB <= BOUNDS.masterRssFrozenGrowthMiB,
        `peak ${report.masterRssPeakMiB.toFixed(0)} MiB (bound ${BOUNDS.masterRssMiB}); ${signed(frozenMiB - steadyMiB)} MiB while ${newMetrics} metrics were defined (bound ${growthAllowedMiB.toFixed(0)}), ` +
          `then ${signed(endMiB - frozenMiB)} MiB with none (bound ${BOUNDS.masterRssFrozenGrowthMiB})`,
      );
    } else check('master descriptors and memory', false, 'no steady point or freeze was sampled');
    check(
      'worker memory and descriptors',
      report.workerRssPeakMiB <= BOUNDS.workerRssMiB && workerFdGrowth <= BOUNDS.workerFdSlack,
      `peak VmRSS ${report.workerRssPeakMiB.toFixed(0)} MiB (bound ${BOUNDS.workerRssMiB}); fds at most +${workerFdGrowth} over a worker's count at 3 s of age (bound +${BOUNDS.workerFdSlack}), ${seenWorkerPids.size} workers sampled`,
    );

    // --- the stop: SIGTERM, the last metrics-dir write and the final push -----------------------------
    log('SIGTERM to the master');
    done = true;
    await sampler;
    const rrdtool = childrenOf(m.pid).filter((c) => c.command.startsWith('rrdtool')).map((c) => c.pid);
    signal(m.pid, 'SIGTERM');
    const finished = await Promise.race([m.running.done, sleep(40_000).then(() => undefined)]);
    check(
      'master never crashed and stopped cleanly',
      unexpectedExits.length === 0 && finished?.code === 0,
      unexpectedExits.length > 0 ? unexpectedExits.join('; ') : finished ? `SIGTERM: exit ${finished.code ?? finished.signal}` : 'SIGTERM: still running after 40 s',
    );
    const finalValues = new Map(soakInfos.map((info) => [info.name, r.getBigInt(info.name)]));
    const finalMismatches: string[] = [];
    for (const info of soakInfos) {
      const want = finalValues.get(info.name);
      const file = readMetricsDirValue(metricsDir, info.type === 'histogram' ? `${info.name}.count` : info.name);
      if (file !== want) finalMismatches.push(`metrics-dir ${info.name}: ${file} (region ${want})`);
    }
    const pushed = peers.lastFileDocument();
    for (const info of soakInfos) {
      // A histogram is pushed as its derived series; .count is its value.
      const got = pushed.get(info.type === 'histogram' ? `${info.name}.count` : info.name);
      if (got !== finalValues.get(info.name)) finalMismatches.push(`file pusher ${info.name}: ${got} (region ${finalValues.get(info.name)})`);
    }
    for (const name of sharedNames) {
      const got = peers.sink!.last.get(name);
      if (got !== finalValues.get(name)) finalMismatches.push(`socket pusher ${name}: ${got} (region ${finalValues.get(name)})`);
    }
    check(
      'final metrics-dir write and final push equal the region',
      finalMismatches.length === 0,
      finalMismatches.length === 0 ? `metrics-dir and file pusher: ${soakInfos.length} metrics; socket sink: ${sharedNames.length}` : finalMismatches.slice(0, 4).join('; '),
    );
    await sleep(500);
    const workerProcesses = new Set([...seenWorkerPids, ...readIncarnations(tally).map((i) => i.pid)]);
    const leftBehind = [...workerProcesses, ...rrdtool].filter(isAlive);
    check(
      'no process left behind',
      leftBehind.length === 0,
      leftBehind.length === 0 ? `${workerProcesses.size} worker processes and rrdtool gone` : `still running: ${leftBehind.join(', ')}`,
    );
  } catch (error) {
    check('the soak ran to the end', false, (error as Error).stack ?? String(error));
  } finally {
    done = true;
    for (const pid of stopped) signal(pid, 'SIGCONT');
    if (master && isAlive(master.pid)) {
      for (const child of childrenOf(master.pid)) signal(child.pid, 'SIGKILL');
      signal(master.pid, 'SIGKILL');
      await master.running.done;
    }
    for (const pid of seenWorkerPids) signal(pid, 'SIGKILL');
    if (tally) for (const incarnation of liveIncarnations(readIncarnations(tally))) signal(incarnation.pid, 'SIGKILL');
    region?.close();
    tally?.close();
    await peers.stop();
    for (const file of [regionPath, tallyPath, dir]) fs.rmSync(file, { recursive: true, force: true });
  }

  report.elapsedSeconds = (Date.now() - t0) / 1000;
  const passed = checks.length > 0 && checks.every((c) => c.ok);
  const full: Omit<SoakReport, 'text'> = { ...report, checks, passed };
  return { ...full, text: formatReport(full, BOUNDS) };
}

/** A worker's descriptors are counted from this age on (Node opens some lazily after start-up). */
const WORKER_WARM_UP_MS = 3000;

/** How many counters every worker shares. */
const SHARED = 4;

/** The soak's own metrics, defined by the master so that they have oids. */
function soakMetricOptions(workers: number): string[] {
  const specs: string[] = [];
  for (let s = 0; s < SHARED; s++) specs.push(`name=soak.shared.${s},type=counter,oid=100.${s + 1}`);
  for (let w = 1; w <= workers; w++) {
    specs.push(`name=soak.worker.${w}.ops,type=counter,oid=101.${w}`);
    specs.push(`name=soak.gauge.${w},type=gauge,oid=103.${w}`);
  }
  specs.push('name=soak.latency,type=histogram,oid=104.1,buckets=loglinear:1:100000:4');
  return specs.flatMap((spec) => ['--metric', spec]);
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
}
