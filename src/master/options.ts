import fs from 'node:fs';
import { parseArgs, UsageError, type OptionSpec } from '../cli/args';
import { parseAlarmSpec, type AlarmDefinition } from '../alarms/alarm-spec';
import { parseMetricSpec, type MetricDefinition } from '../spec/metric-spec';
import { parseThresholdSpec, type ThresholdDefinition } from '../spec/threshold-spec';
import { parseIni } from './ini';
import { parseHttpAuth, parseLabelFrom, parseListenAddress, type HttpAuth } from '../http/http-options';
import { parseSnmpAddress } from '../snmp/address';
import { parsePushSpec } from '../push/push-spec';
import type { SnmpV3User } from '../snmp/usm';

/** Everything the master needs, validated: a bad value never gets as far as starting anything. */
export interface MasterConfig {
  /** Explicit region path (--region or --name); undefined: a region of the master's own, removed at exit. */
  region?: string;
  metrics: MetricDefinition[];
  thresholds: ThresholdDefinition[];
  alarms: AlarmDefinition[];
  alarmFreq: number;
  dlopen: string[];
  metricsDir?: string;
  metricsDirRestore: boolean;
  metricsDirMode: number;
  processes: number;
  builtins: boolean;
  capacity?: number;
  lanes?: number;
  /** Seconds a stopping worker gets between SIGTERM and SIGKILL. */
  workerStopTimeout: number;
  /** The program each worker runs; undefined: a metrics daemon. */
  command?: string[];
  http?: { address: string; allowAllInterfaces: boolean; auth?: HttpAuth; labelFrom: string[] };
  /** node_exporter textfile output (uses --http-label-from too). */
  promFile?: string;
  snmp?: { address: string; community?: string; v3?: SnmpV3User };
  /** --stats-push specs, checked; their pushers' own arguments are checked when the master starts. */
  statsPush: string[];
  statsPusherDefaultFreq: number;
}

/** The master's options, in --help order. `also` lists other spellings (uWSGI's aliases). */
export const MASTER_OPTIONS: readonly (OptionSpec & { also?: readonly string[] })[] = [
  { name: 'ini', value: 'FILE', help: 'read options from the [shmetrics] section of FILE (one option per line, keys may repeat)' },
  { name: 'region', value: 'PATH', help: 'the region file (default: /dev/shm/shmetrics-<user>-<pid>, removed at exit)' },
  { name: 'name', value: 'NAME', help: 'the region /dev/shm/shmetrics-NAME' },
  { name: 'processes', value: 'N', also: ['workers'], help: 'workers to run the command in (default 1 with a command)' },
  { name: 'metric', value: 'SPEC', repeatable: true, help: 'define a metric (uWSGI --metric syntax)' },
  {
    name: 'metric-threshold',
    value: 'SPEC',
    repeatable: true,
    also: ['metric-alarm', 'alarm-metric'],
    help: 'add a threshold: key=METRIC,value=N[,alarm=NAME,rate=S,reset=N,msg=TEXT]',
  },
  { name: 'alarm', value: '"NAME PLUGIN:ARGS"', repeatable: true, help: 'define an alarm; plugins: log, cmd' },
  { name: 'alarm-freq', value: 'SECONDS', help: 'drop an alarm message identical to the previous one within SECONDS (default 3)' },
  { name: 'dlopen', value: 'LIB', repeatable: true, help: 'load a shared library for func/ptr collectors' },
  { name: 'metrics-dir', value: 'DIR', help: 'keep one text file per metric in DIR (created, mode 0700, if missing)' },
  { name: 'metrics-dir-restore', help: 'at start, resume counters and manual gauges from the files in --metrics-dir' },
  { name: 'metrics-dir-mode', value: 'MODE', help: 'mode of the metrics-dir files, octal (default 600)' },
  { name: 'no-builtins', help: 'do not register the built-in worker.N.*, core.* and system.* metrics' },
  { name: 'capacity', value: 'N', help: 'metrics the region holds, when it is created (default 4096)' },
  { name: 'lanes', value: 'N', help: 'writer lanes, when the region is created (default 64)' },
  { name: 'worker-stop-timeout', value: 'SECONDS', help: 'grace between SIGTERM and SIGKILL for a stopping worker (default 10)' },
  { name: 'http', value: 'ADDR', help: 'serve /metrics (Prometheus), /status and /healthz on HOST:PORT (PORT alone: 127.0.0.1)' },
  { name: 'http-auth', value: 'USER:PASS|@FILE', help: 'HTTP basic auth for every path but /healthz (not a replacement for TLS)' },
  { name: 'http-label-from', value: 'NAMES', help: 'comma-separated segments whose number becomes a Prometheus label (worker.1.x -> x{worker="1"})' },
  { name: 'http-all-interfaces', help: 'allow --http on 0.0.0.0 or :: (refused otherwise)' },
  { name: 'snmp', value: 'ADDR', help: 'answer SNMP GET/GETNEXT/GETBULK on HOST:PORT (port 1161 when omitted); needs a community or a v3 user' },
  { name: 'snmp-community', value: 'STR', help: 'the SNMP v1/v2c community (no default: do not use "public" where it is reachable)' },
  { name: 'snmp-v3-user', value: 'NAME', help: 'an SNMPv3 user, authPriv with SHA and AES-128 (with --snmp-v3-auth-key and --snmp-v3-priv-key)' },
  { name: 'snmp-v3-auth-key', value: 'KEY', help: "the v3 user's authentication passphrase (or SHMETRICS_SNMP_V3_AUTH_KEY, kept out of ps)" },
  { name: 'snmp-v3-priv-key', value: 'KEY', help: "the v3 user's privacy passphrase (or SHMETRICS_SNMP_V3_PRIV_KEY)" },
  { name: 'stats-push', value: 'NAME:ARGS', repeatable: true, help: 'push every metric: statsd, carbon, zabbix, rrdtool, socket, file (uWSGI syntax)' },
  {
    name: 'stats-pusher-default-freq',
    value: 'SECONDS',
    also: ['stats-pushers-default-freq'],
    help: 'interval of the pushers without their own freq= (default 3)',
  },
  { name: 'prom-file', value: 'PATH', help: "write the Prometheus text to PATH every second, for node_exporter's textfile collector" },
];

const ALL_NAMES = new Map<string, string>();
for (const o of MASTER_OPTIONS) {
  ALL_NAMES.set(o.name, o.name);
  for (const alias of o.also ?? []) ALL_NAMES.set(alias, o.name);
}

/** OptionSpecs for the argument parser: every spelling, each reporting under its canonical name. */
export const MASTER_ARG_SPECS: readonly OptionSpec[] = MASTER_OPTIONS.flatMap((o) => [
  o,
  ...(o.also ?? []).map((alias) => ({ ...o, name: alias })),
]);

export function isMasterOption(word: string): boolean {
  return ALL_NAMES.has(word);
}

/** Where each value came from, for error messages. */
type Source = { values: Map<string, { value: string; from: string }[]> };

function addValue(source: Source, option: string, value: string, from: string): void {
  const canonical = ALL_NAMES.get(option);
  if (!canonical) throw new UsageError(`${from}: unknown option ${option} (see shmetrics --help)`);
  const list = source.values.get(canonical) ?? [];
  list.push({ value, from });
  source.values.set(canonical, list);
}

/**
 * Resolves the master's configuration from the command line, the environment (SHMETRICS_<OPTION>, e.g.
 * SHMETRICS_METRICS_DIR; repeatable options take one value per line) and an ini file (--ini or
 * SHMETRICS_INI). Precedence for single-valued options: command line, then environment, then ini file.
 * Repeatable options (--metric, --metric-threshold, --alarm, --dlopen) collect the values of all three,
 * ini first.
 */
export function resolveMasterConfig(argv: readonly string[], env: NodeJS.ProcessEnv): MasterConfig {
  const args = parseArgs(argv, MASTER_ARG_SPECS);
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}: the program to run goes after --`);
  const fromCli: Source = { values: new Map() };
  for (const [name, values] of args.options) {
    const isFlag = MASTER_ARG_SPECS.find((o) => o.name === name)?.value === undefined;
    for (const value of values) addValue(fromCli, name, isFlag ? 'true' : value, `--${name}`);
  }

  const fromEnv: Source = { values: new Map() };
  for (const o of MASTER_OPTIONS) {
    for (const spelling of [o.name, ...(o.also ?? [])]) {
      const variable = `SHMETRICS_${spelling.toUpperCase().replace(/-/g, '_')}`;
      const text = env[variable];
      if (text === undefined || text === '') continue;
      const values = o.repeatable ? text.split('\n').filter((line) => line.trim() !== '') : [text];
      for (const value of values) addValue(fromEnv, spelling, o.value === undefined ? flagValue(value, variable) : value, variable);
    }
  }

  const fromIni: Source = { values: new Map() };
  const iniFile = single(fromCli, 'ini') ?? single(fromEnv, 'ini');
  if (iniFile) {
    let text: string;
    try {
      text = fs.readFileSync(iniFile.value, 'utf8');
    } catch (error) {
      throw new UsageError(`${iniFile.from} ${iniFile.value}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    for (const entry of parseIni(text, iniFile.value)) {
      const where = `${iniFile.value}:${entry.line}`;
      if (entry.key === 'ini') throw new UsageError(`${where}: ini files do not nest`);
      const spec = MASTER_OPTIONS.find((o) => o.name === ALL_NAMES.get(entry.key));
      if (spec && spec.value === undefined) addValue(fromIni, entry.key, flagValue(entry.value, where), where);
      else if (spec && entry.value === '') throw new UsageError(`${where}: ${entry.key} needs a value`);
      else addValue(fromIni, entry.key, entry.value, where);
    }
  }

  const sources = [fromCli, fromEnv, fromIni];
  const scalar = (name: string) => {
    for (const source of sources) {
      const list = source.values.get(name);
      if (!list) continue;
      if (list.length > 1) throw new UsageError(`${list[1].from}: ${name} given more than once`);
      return list[0];
    }
    return undefined;
  };
  const all = (name: string) => [...fromIni.values.get(name) ?? [], ...fromEnv.values.get(name) ?? [], ...fromCli.values.get(name) ?? []];

  const region = scalar('region');
  const name = scalar('name');
  if (region && name) throw new UsageError(`${name.from} ${name.value}: give --region or --name, not both`);
  if (name && !/^[0-9A-Za-z._-]+$/.test(name.value))
    throw new UsageError(`${name.from} ${JSON.stringify(name.value)}: a region name may use 0-9 a-z A-Z . - _`);

  const command = args.rest && args.rest.length > 0 ? [...args.rest] : undefined;
  const processesOption = scalar('processes');
  const processes = processesOption ? integer(processesOption, 0, 1024) : command ? 1 : 0;
  if (command && processes === 0) throw new UsageError(`${processesOption!.from} 0: a command needs at least one worker`);

  const metricsDir = scalar('metrics-dir');
  const restore = scalar('metrics-dir-restore');
  if (restore?.value === 'true' && !metricsDir) throw new UsageError(`${restore.from}: needs --metrics-dir DIR`);
  const mode = scalar('metrics-dir-mode');
  if (mode && !/^0?[0-7]{3}$/.test(mode.value)) throw new UsageError(`${mode.from} ${JSON.stringify(mode.value)}: expected an octal mode such as 600`);

  const parsed = <T>(name: string, parse: (text: string) => T) =>
    all(name).map(({ value, from }) => {
      try {
        return parse(value);
      } catch (error) {
        throw new UsageError(`${from} ${JSON.stringify(value)}: ${(error as Error).message}`);
      }
    });
  const alarms = parsed('alarm', parseAlarmSpec);
  const thresholds = parsed('metric-threshold', parseThresholdSpec);
  for (const [i, t] of thresholds.entries()) {
    if (t.alarm !== undefined && !alarms.some((a) => a.name === t.alarm)) {
      const { from, value } = all('metric-threshold')[i];
      throw new UsageError(`${from} ${JSON.stringify(value)}: alarm "${t.alarm}" is not defined by any --alarm`);
    }
  }
  const alarmFreq = scalar('alarm-freq');
  const capacity = scalar('capacity');
  const lanes = scalar('lanes');
  const stopTimeout = scalar('worker-stop-timeout');

  const checked = <T>(option: { value: string; from: string } | undefined, parse: (text: string) => T): T | undefined => {
    if (!option) return undefined;
    try {
      return parse(option.value);
    } catch (error) {
      throw new UsageError(`${option.from} ${JSON.stringify(option.value)}: ${(error as Error).message}`);
    }
  };
  const httpAddress = scalar('http');
  const allowAllInterfaces = scalar('http-all-interfaces')?.value === 'true';
  checked(httpAddress, (text) => parseListenAddress(text, { allowAllInterfaces }));
  const httpAuth = checked(scalar('http-auth'), parseHttpAuth);
  const labelFrom = checked(scalar('http-label-from'), parseLabelFrom) ?? [];
  if ((httpAuth || scalar('http-all-interfaces')) && !httpAddress)
    throw new UsageError(`${(scalar('http-auth') ?? scalar('http-all-interfaces'))!.from}: needs --http ADDR`);

  const snmpAddress = scalar('snmp');
  checked(snmpAddress, parseSnmpAddress);
  const community = scalar('snmp-community')?.value;
  const [v3User, v3Auth, v3Priv] = (['snmp-v3-user', 'snmp-v3-auth-key', 'snmp-v3-priv-key'] as const).map(scalar);
  const v3Given = [v3User, v3Auth, v3Priv].filter((o) => o !== undefined);
  if (v3Given.length > 0 && v3Given.length < 3)
    throw new UsageError(`${v3Given[0]!.from}: an SNMPv3 user needs --snmp-v3-user, --snmp-v3-auth-key and --snmp-v3-priv-key`);
  for (const key of [v3Auth, v3Priv])
    if (key && key.value.length < 8) throw new UsageError(`${key.from}: a v3 passphrase needs at least 8 characters`);
  const snmpOption = [scalar('snmp-community'), ...v3Given][0];
  if (snmpOption && !snmpAddress) throw new UsageError(`${snmpOption.from}: needs --snmp ADDR`);
  if (snmpAddress && community === undefined && !v3User)
    throw new UsageError(`${snmpAddress.from} ${snmpAddress.value}: needs --snmp-community STR or an SNMPv3 user (no agent answers without one)`);

  const statsPush = all('stats-push');
  for (const { value, from } of statsPush) checked({ value, from }, parsePushSpec);
  const pushFreq = scalar('stats-pusher-default-freq');

  return {
    statsPush: statsPush.map((p) => p.value),
    statsPusherDefaultFreq: pushFreq ? integer(pushFreq, 1, 86_400) : 3,
    snmp: snmpAddress
      ? {
          address: snmpAddress.value,
          community,
          v3: v3User ? { user: v3User.value, authKey: v3Auth!.value, privKey: v3Priv!.value } : undefined,
        }
      : undefined,
    http: httpAddress ? { address: httpAddress.value, allowAllInterfaces, auth: httpAuth, labelFrom } : undefined,
    promFile: scalar('prom-file')?.value,
    region: region?.value ?? (name ? `/dev/shm/shmetrics-${name.value}` : undefined),
    metrics: parsed('metric', parseMetricSpec),
    thresholds,
    alarms,
    alarmFreq: alarmFreq ? integer(alarmFreq, 0, 86_400) : 3,
    dlopen: all('dlopen').map((d) => d.value),
    metricsDir: metricsDir?.value,
    metricsDirRestore: restore?.value === 'true',
    metricsDirMode: mode ? parseInt(mode.value, 8) : 0o600,
    processes,
    builtins: scalar('no-builtins')?.value !== 'true',
    capacity: capacity ? integer(capacity, 1, 1 << 20) : undefined,
    lanes: lanes ? integer(lanes, 1, 4096) : undefined,
    workerStopTimeout: stopTimeout ? integer(stopTimeout, 1, 3600) : 10,
    command,
  };
}

function single(source: Source, name: string) {
  return source.values.get(name)?.[0];
}

function integer({ value, from }: { value: string; from: string }, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max)
    throw new UsageError(`${from} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return Number(value);
}

/** A flag's value from the environment or an ini file: '' (present) or yes/no words. */
function flagValue(text: string, from: string): string {
  const t = text.trim().toLowerCase();
  if (['', '1', 'true', 'yes', 'on'].includes(t)) return 'true';
  if (['0', 'false', 'no', 'off'].includes(t)) return 'false';
  throw new UsageError(`${from}: ${JSON.stringify(text)} is not a yes/no value`);
}
