/**
 * Graphite's carbon-cache on loopback for a test (docs/peers.md §1): configs in a temp dir, free line,
 * pickle and query ports, `--nodaemon` in the foreground, ready when the line and pickle ports accept;
 * whisper files read back with Debian's python3-whisper through /usr/bin/python3.
 */

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { accepts, freePorts, startDaemon, tempPeerDir, waitFor, type Daemon } from './daemon';

const run = promisify(execFile);

export const CARBON_CACHE = '/usr/bin/carbon-cache';
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Whether carbon-cache and the whisper module are here. */
export function carbonAvailable(): boolean {
  return fs.existsSync(CARBON_CACHE) && fs.existsSync(SYSTEM_PYTHON);
}

export interface CarbonPeer {
  readonly dir: string;
  readonly linePort: number;
  readonly daemon: Daemon;
  /** The .wsp file of a metric path (a.b.c → whisper/a/b/c.wsp). */
  whisperFile(metricPath: string): string;
  /** The points of `metricPath` in (from, until], Nones left out: [unix seconds, value][]. */
  fetch(metricPath: string, fromSeconds: number, untilSeconds?: number): Promise<[number, number][]>;
  /** Polls fetch() until `accept` likes the points (carbon writes about a second after receiving). */
  waitForPoints(
    metricPath: string,
    fromSeconds: number,
    accept: (points: [number, number][]) => boolean,
    timeoutMs?: number,
  ): Promise<[number, number][]>;
  stop(): Promise<void>;
}

const FETCH = `
import json, sys, whisper
(start, end, step), values = whisper.fetch(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
print(json.dumps([[start + i * step, v] for i, v in enumerate(values) if v is not None]))
`;

/**
 * `retentions`: extra storage schemas, pattern → retentions, checked before the default `1s:1h` (a whisper
 * file of 1s:1h is 43 KB: give bulk metrics a short retention).
 */
export async function startCarbon(retentions: Record<string, string> = {}): Promise<CarbonPeer> {
  const dir = tempPeerDir('carbon');
  const [linePort, picklePort, queryPort] = await freePorts(3);
  fs.mkdirSync(path.join(dir, 'whisper'));
  fs.writeFileSync(
    path.join(dir, 'carbon.conf'),
    `[cache]
STORAGE_DIR = ${dir}
LOCAL_DATA_DIR = ${dir}/whisper
WHITELISTS_DIR = ${dir}/lists
LOG_DIR = ${dir}/log
PID_DIR = ${dir}
USER =
DATABASE = whisper
ENABLE_TAGS = False
CARBON_METRIC_INTERVAL = 0
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 100000
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${linePort}
ENABLE_UDP_LISTENER = False
UDP_RECEIVER_INTERFACE = 127.0.0.1
UDP_RECEIVER_PORT = 0
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${picklePort}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${queryPort}
LOG_LISTENER_CONN_SUCCESS = False
LOG_CREATES = True
LOG_UPDATES = False
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
`,
  );
  const schemas = Object.entries(retentions).map(([pattern, retention], i) => `[extra_${i}]\npattern = ${pattern}\nretentions = ${retention}\n`);
  fs.writeFileSync(path.join(dir, 'storage-schemas.conf'), `${schemas.join('')}[everything_1s]\npattern = .*\nretentions = 1s:1h\n`);
  fs.writeFileSync(path.join(dir, 'storage-aggregation.conf'), '[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n');

  const daemon = startDaemon(CARBON_CACHE, [`--config=${dir}/carbon.conf`, '--nodaemon', 'start'], {
    logFile: path.join(dir, 'carbon.log'),
    env: { PYTHONWARNINGS: 'ignore' },
    cwd: dir,
  });
  // carbon-cache flushes its whole cache to whisper before it exits on SIGTERM (seconds for a few thousand
  // new metrics on a busy machine); what it still holds when the test is over is of no use: 3 s, then SIGKILL.
  const stop = async (): Promise<void> => {
    await daemon.stop(3000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'carbon-cache to accept on its line and pickle ports',
      async () => {
        if (daemon.exited()) throw new Error(`carbon-cache exited:\n${daemon.log()}`);
        return (await accepts(linePort)) && (await accepts(picklePort));
      },
      15_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const whisperFile = (metricPath: string): string => path.join(dir, 'whisper', ...metricPath.split('.')) + '.wsp';
  const fetch = async (metricPath: string, fromSeconds: number, untilSeconds = Math.floor(Date.now() / 1000) + 1) => {
    const file = whisperFile(metricPath);
    if (!fs.existsSync(file)) return [];
    const { stdout } = await run(SYSTEM_PYTHON, ['-c', FETCH, file, String(fromSeconds), String(untilSeconds)]);
    return JSON.parse(stdout) as [number, number][];
  };
  return {
    dir,
    linePort,
    daemon,
    whisperFile,
    fetch,
    waitForPoints: (metricPath, fromSeconds, accept, timeoutMs = 8000) =>
      waitFor(
        `points of ${metricPath} in ${dir}`,
        async () => {
          const points = await fetch(metricPath, fromSeconds);
          return accept(points) ? points : undefined;
        },
        timeoutMs,
        150,
      ),
    stop,
  };
}
