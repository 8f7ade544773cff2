/**
 * A real Zabbix trapper on loopback for a test (docs/peers.md §4): zabbix_proxy 6.0 in passive mode with
 * an SQLite database in a temp dir, the host and its trapper items inserted before it starts (a passive
 * proxy reads its configuration only then), ready when zabbix_sender gets `processed: 1`; the values it
 * received read back from proxy_history.
 */

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { freePort, startDaemon, tempPeerDir, waitFor, type Daemon } from './daemon';

const run = promisify(execFile);

export const ZABBIX_PROXY = '/usr/sbin/zabbix_proxy';
export const ZABBIX_SENDER = '/usr/bin/zabbix_sender';
const SCHEMA = '/usr/share/zabbix-proxy-sqlite3/schema.sql.gz';
const SYSTEM_PYTHON = '/usr/bin/python3';
/** Zabbix refuses a ListenPort above 32767. */
const PORT_RANGE = [20000, 32767] as const;

/** Zabbix value types: 0 float, 1 character, 2 log, 3 numeric unsigned, 4 text. */
export interface TrapperItem {
  key: string;
  valueType: 0 | 1 | 2 | 3 | 4;
}

export function zabbixAvailable(): boolean {
  return [ZABBIX_PROXY, ZABBIX_SENDER, SCHEMA, SYSTEM_PYTHON].every((file) => fs.existsSync(file));
}

export interface HistoryRow {
  key: string;
  clock: number;
  ns: number;
  value: string;
}

export interface ZabbixPeer {
  readonly dir: string;
  readonly port: number;
  readonly host: string;
  readonly daemon: Daemon;
  /** Every value the proxy stored, oldest first. */
  history(): Promise<HistoryRow[]>;
  /** Polls history() until `accept` likes it (the proxy writes about a second after receiving). */
  waitForHistory(accept: (rows: HistoryRow[]) => boolean, timeoutMs?: number): Promise<HistoryRow[]>;
  stop(): Promise<void>;
}

const BUILD_DB = `
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
db.executescript(sys.stdin.read())
host, items = sys.argv[2], json.loads(sys.argv[3])
db.execute("INSERT INTO hosts (hostid, host, name, name_upper, status) VALUES (10001, ?, ?, ?, 0)", (host, host, host.upper()))
for i, (key, value_type) in enumerate(items):
    itemid = 20001 + i
    db.execute("INSERT INTO items (itemid, type, hostid, name, key_, value_type, status, delay, trapper_hosts) VALUES (?, 2, 10001, ?, ?, ?, 0, '0', '')", (itemid, key, key, value_type))
    db.execute("INSERT INTO item_rtdata (itemid) VALUES (?)", (itemid,))
db.commit()
`;

const READ_HISTORY = `
import sqlite3, sys, json
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=5)
rows = db.execute("SELECT i.key_, h.clock, h.ns, h.value FROM proxy_history h JOIN items i USING (itemid) ORDER BY h.id").fetchall()
print(json.dumps(rows))
`;

export async function startZabbixProxy(options: { host?: string; items: TrapperItem[] }): Promise<ZabbixPeer> {
  const host = options.host ?? 'testhost';
  const dir = tempPeerDir('zabbix');
  const db = path.join(dir, 'proxy.db');
  const items = [...options.items.map((item) => [item.key, item.valueType]), ['peers.ready', 4]];
  await new Promise<void>((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, ['-c', BUILD_DB, db, host, JSON.stringify(items)], (error) => (error ? reject(error) : resolve()));
    child.stdin!.end(gunzipSync(fs.readFileSync(SCHEMA)));
  });
  const port = await freePort(...PORT_RANGE);
  fs.writeFileSync(
    path.join(dir, 'zabbix_proxy.conf'),
    `ProxyMode=1
Server=127.0.0.1
Hostname=peers-proxy
ListenIP=127.0.0.1
ListenPort=${port}
LogType=file
LogFile=${dir}/zabbix_proxy.log
DebugLevel=3
PidFile=${dir}/zabbix_proxy.pid
SocketDir=${dir}
DBName=${db}
AllowRoot=1
StartTrappers=1
StartPreprocessors=1
StartDBSyncers=1
StartPollers=0
StartPollersUnreachable=0
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartIPMIPollers=0
StartJavaPollers=0
StartVMwareCollectors=0
StartODBCPollers=0
HousekeepingFrequency=0
CacheSize=8M
HistoryCacheSize=4M
HistoryIndexCacheSize=1M
Timeout=3
`,
  );
  const daemon = startDaemon(ZABBIX_PROXY, ['-f', '-c', path.join(dir, 'zabbix_proxy.conf')], {
    logFile: path.join(dir, 'stdout.log'),
  });
  const log = (): string =>
    daemon.log() + (fs.existsSync(path.join(dir, 'zabbix_proxy.log')) ? fs.readFileSync(path.join(dir, 'zabbix_proxy.log'), 'utf8') : '');
  const stop = async (): Promise<void> => {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'zabbix_proxy to answer a sender with "processed: 1"',
      async () => {
        if (daemon.exited()) throw new Error(`zabbix_proxy exited:\n${log()}`);
        try {
          const { stdout } = await run(ZABBIX_SENDER, ['-z', '127.0.0.1', '-p', String(port), '-s', host, '-k', 'peers.ready', '-o', 'ready']);
          return stdout.includes('processed: 1');
        } catch {
          return false;
        }
      },
      20_000,
      200,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const history = async (): Promise<HistoryRow[]> => {
    const { stdout } = await run(SYSTEM_PYTHON, ['-c', READ_HISTORY, db]);
    return (JSON.parse(stdout) as [string, number, number, string][])
      .map(([key, clock, ns, value]) => ({ key, clock, ns, value }))
      .filter((row) => row.key !== 'peers.ready');
  };
  return {
    dir,
    port,
    host,
    daemon,
    history,
    waitForHistory: (accept, timeoutMs = 10_000) =>
      waitFor('the proxy history', async () => {
        const rows = await history();
        return accept(rows) ? rows : undefined;
      }, timeoutMs, 200),
    stop,
  };
}
