import fs from 'node:fs';
import os from 'node:os';
import { registerBuiltins, startWorkerReporter } from '../builtins';
import { Metrics } from '../metrics';
import { MetricsDirView } from '../metrics-dir/metrics-dir-view';
import { restoreFromMetricsDir } from '../metrics-dir/restore';
import { formatAlarmSpec } from '../alarms/alarm-spec';
import { formatThresholdSpec } from '../spec/threshold-spec';
import type { MasterConfig } from './options';
import { WorkerPool } from './worker-pool';
import { serveMetrics, startPromFile, type MetricsServer, type PromFile } from '../http';
import { startSnmpAgent, type SnmpAgent } from '../snmp';
import { PushScheduler } from '../push';

export interface MasterIo {
  log(message: string): void;
  /** Resolves when the master should stop (SIGTERM/SIGINT); `onReload` is called on SIGHUP. */
  signals(onStop: (signal: string) => void, onReload: () => void): () => void;
}

export const processMasterIo: MasterIo = {
  log: (message) => process.stderr.write(`shmetrics: ${message}\n`),
  signals(onStop, onReload) {
    const stop = (signal: NodeJS.Signals) => onStop(signal);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onReload);
    return () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', onReload);
    };
  },
};

/** A step of the start-up that failed: the master exits 2 with this message, having started nothing. */
export class StartupError extends Error {}

/**
 * The master: owns the region and collects it, keeps the metrics-dir, runs the workers, and stops them
 * gracefully. Resolves with the exit status once it has stopped.
 */
export async function runMaster(config: MasterConfig, io: MasterIo = processMasterIo): Promise<number> {
  const ownRegion = config.region === undefined;
  const regionPath = config.region ?? `/dev/shm/shmetrics-${os.userInfo().username}-${process.pid}`;
  let metrics: Metrics | undefined;
  let view: MetricsDirView | undefined;
  let stopReporter: (() => void) | undefined;
  let pool: WorkerPool | undefined;
  let http: MetricsServer | undefined;
  let promFile: PromFile | undefined;
  let snmp: SnmpAgent | undefined;
  let pushes: PushScheduler | undefined;
  const cleanup = async () => {
    await pushes?.close(); // the final push, after the workers stopped
    await snmp?.close();
    await http?.close();
    promFile?.close();
    stopReporter?.();
    view?.close();
    metrics?.close();
    if (ownRegion) fs.rmSync(regionPath, { force: true });
  };

  try {
    for (const library of config.dlopen) step(`--dlopen ${library}`, () => Metrics.dlopen(library));
    metrics = step(`--region ${regionPath}`, () =>
      Metrics.open({ path: regionPath, collect: true, alarmFreq: config.alarmFreq, capacity: config.capacity, lanes: config.lanes }),
    );
    const m = metrics;
    m.on('log', (message) => io.log(message));
    // A region that outlived its previous master (an explicit --region or --name, the master killed) holds
    // newer values than the files, which lag by up to a tick: restoring them would lose what was counted
    // since the last flush.
    const regionOutlivedMaster = m.list().length > 0;
    if (config.builtins) step('built-in metrics', () => registerBuiltins(m, { workers: config.processes }));
    for (const def of config.metrics) step(`--metric ${def.name}`, () => m.define(def));
    if (config.metricsDirRestore && config.metricsDir && regionOutlivedMaster) {
      io.log(`restore: ${regionPath} still holds its metrics, which are newer than ${config.metricsDir}: nothing to restore`);
    } else if (config.metricsDirRestore && config.metricsDir) {
      const report = restoreFromMetricsDir(m, config.metricsDir);
      io.log(`restored ${report.restored.length} metrics from ${config.metricsDir}`);
      for (const { name, reason } of report.skipped) io.log(`restore: skipped ${name}: ${reason}`);
    }
    for (const alarm of config.alarms) step(`--alarm ${formatAlarmSpec(alarm)}`, () => m.alarm(formatAlarmSpec(alarm)));
    for (const threshold of config.thresholds)
      step(`--metric-threshold ${formatThresholdSpec(threshold)}`, () => m.threshold(threshold));
    if (config.metricsDir) {
      const dir = config.metricsDir;
      view = step(`--metrics-dir ${dir}`, () => new MetricsDirView(m, { dir, mode: config.metricsDirMode, log: io.log }));
      view.start();
    }
    if (config.statsPush.length > 0) {
      const scheduler = new PushScheduler(m, { defaultFreqSeconds: config.statsPusherDefaultFreq, log: io.log });
      for (const spec of config.statsPush) step(`--stats-push ${spec}`, () => scheduler.add(spec));
      pushes = scheduler;
    }
    if (config.builtins) stopReporter = startWorkerReporter(m, 0);
    if (config.promFile) {
      const path = config.promFile;
      promFile = step(`--prom-file ${path}`, () => startPromFile(m, { path, labelFrom: config.http?.labelFrom, log: io.log }));
    }
    if (config.http) {
      const { address, allowAllInterfaces, auth, labelFrom } = config.http;
      http = await serveMetrics(m, { address, allowAllInterfaces, auth, labelFrom, log: io.log }).catch((error: Error) => {
        throw new StartupError(`--http ${address}: ${error.message}`);
      });
    }
    if (config.snmp) {
      const { address, community, v3 } = config.snmp;
      snmp = await startSnmpAgent(m, { address, community, v3, log: io.log }).catch((error: Error) => {
        throw new StartupError(`--snmp ${address}: ${error.message}`);
      });
    }
  } catch (error) {
    await cleanup();
    throw error;
  }

  const m = metrics;
  pushes?.start();
  io.log(
    `master ${process.pid}: region ${regionPath}` +
      (config.metricsDir ? `, metrics-dir ${config.metricsDir}` : '') +
      (config.command ? `, ${config.processes} worker(s) running ${config.command.join(' ')}` : ', no workers (metrics daemon)'),
  );
  if (config.command) {
    pool = new WorkerPool({
      command: config.command,
      processes: config.processes,
      env: { ...process.env, SHMETRICS_REGION: regionPath, SHMETRICS_MASTER_PID: String(process.pid) },
      stopTimeoutSeconds: config.workerStopTimeout,
      log: io.log,
      onRespawn: (id) => {
        if (m.has(`worker.${id}.respawns`)) m.inc(`worker.${id}.respawns`);
      },
    });
    pool.start();
  }

  // Everything else the master runs is unref'd; a daemon without workers must not exit on its own.
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((resolve) => {
    let stopping = false;
    const release = io.signals(
      (signal) => {
        if (stopping) return;
        stopping = true;
        io.log(`${signal}: stopping`);
        void (pool?.stop() ?? Promise.resolve())
          .then(() => {
            clearInterval(keepAlive);
            release();
            return cleanup();
          })
          .then(() => {
            io.log('stopped');
            resolve(0);
          });
      },
      () => {
        if (stopping || !pool) return;
        io.log('SIGHUP: reloading workers one at a time (metrics are kept)');
        void pool.reload();
      },
    );
  });
}

function step<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new StartupError(`${what}: ${(error as Error).message}`);
  }
}
