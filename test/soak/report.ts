/**
 * The soak's one-screen report: what was done, what was injected, what the checks found.
 */

import os from 'node:os';
import type { BOUNDS, SoakReport } from './soak';

const n = (x: number | bigint): string => x.toLocaleString('en-US');
const mib = (x: number): string => `${x.toFixed(0)} MiB`;

export function formatReport(report: Omit<SoakReport, 'text'>, bounds: typeof BOUNDS): string {
  const { options, faults, tally, masterRss: rss } = report;
  const cycles = new Map<string, number[]>();
  for (const c of faults.peerCycles) {
    if (!cycles.has(c.peer)) cycles.set(c.peer, []);
    if (c.reconnectMs !== undefined) cycles.get(c.peer)!.push(c.reconnectMs / 1000);
  }
  const peerText = [...cycles]
    .map(([peer, times]) => `${peer} ${times.length}× (back in ≤ ${times.length ? Math.max(...times).toFixed(1) : '?'} s)`)
    .join(', ');
  const failed = report.checks.filter((c) => !c.ok);
  const lines = [
    `shmetrics chaos soak: ${options.seconds} s, ${options.workers} workers, seed ${options.seed}; ${report.startedAt.toISOString()}, node ${process.version}, ${os.cpus().length} CPUs; took ${report.elapsedSeconds.toFixed(0)} s`,
    `ops        ${n(tally?.ops ?? 0)} worker operations by ${n(tally?.incarnations ?? 0)} worker processes: ${n(report.increments)} counted increments, ${n(report.observations)} histogram observations, ${n(tally?.ops ?? 0)} gauge sets, ${n(report.definedAtRunTime)} counters defined at run time`,
    `faults     ${n(faults.workerKills)} worker SIGKILLs, ${n(faults.workerStops)} SIGSTOP/SIGCONT (${faults.stoppedSeconds.toFixed(0)} s stopped), ${faults.masterKills} master SIGKILL + restart with --metrics-dir-restore`,
    `peers      stopped and restarted: ${peerText || 'none'}`,
    tally
      ? `tally      lost updates ${n(tally.lost)}${report.rewoundByRestore > 0n ? ` (${n(report.rewoundByRestore)} rewound by the restore)` : ''}; in flight at kills ${n(tally.inFlight)} on ${tally.inFlightCounters} counters (bound ${tally.killed} killed × ≤ 1 increment of ≤ 3); exact on ${n(tally.exact)} of ${n(tally.counters)} counters`
      : 'tally      not read',
    `outputs    ${n(report.outputsCompared)} soak metrics compared after a pause: region = metrics-dir = snmpget = shmetrics ls/get = /metrics`,
    `master     max event-loop lag ${report.lagMaxMs.toFixed(1)} ms (bound ${bounds.maxLagMs}); fds ${report.masterFds ? `${report.masterFds.steady} -> ${report.masterFds.end}` : '?'} (bound +${bounds.masterFdSlack}); ` +
      `peak VmRSS ${mib(report.masterRssPeakMiB)} (bound ${bounds.masterRssMiB})`,
    rss
      ? `           VmRSS ${mib(rss.steadyMiB)} -> ${mib(rss.frozenMiB)} while ${n(rss.newMetrics)} metrics were defined (bound +${rss.growthAllowedMiB.toFixed(0)}), -> ${mib(rss.endMiB)} with none (bound +${bounds.masterRssFrozenGrowthMiB})`
      : '           VmRSS: no steady point',
    `workers    peak VmRSS ${mib(report.workerRssPeakMiB)} (bound ${bounds.workerRssMiB}); fds at most +${report.workerFdGrowthMax} over each one's count at 3 s of age (bound +${bounds.workerFdSlack})`,
    ...(report.missingPeers.length > 0 ? [`missing    ${report.missingPeers.join('; ')}`] : []),
    `checks     ${report.checks.length - failed.length} of ${report.checks.length} passed`,
    ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail.split('\n')[0]}`),
    report.passed ? 'PASS' : `FAIL (${failed.length})`,
  ];
  return lines.join('\n');
}
