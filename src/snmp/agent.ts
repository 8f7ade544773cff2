import dgram from 'node:dgram';
import type { Metrics } from '../metrics';
import { parseSnmpAddress } from './address';
import { SnmpConfigError } from './errors';
import { MetricsMibView } from './mib-view';
import { BASE_OID } from './oid';
import { SnmpResponder, type SnmpAgentStats } from './responder';
import { checkV3User, type SnmpV3User } from './usm';

export interface SnmpAgentOptions {
  /** Where to listen: `HOST:PORT`, `HOST` (port 1161), `:PORT`, `[IPV6]:PORT`. */
  address: string;
  /** The v1/v2c community. No default: without one (and without `v3`) nothing would ever answer. */
  community?: string;
  /** An SNMPv3 user (authPriv, SHA + AES-128). */
  v3?: SnmpV3User;
  /** Where the agent's messages go (default: stderr). */
  log?: (message: string) => void;
}

export interface SnmpAgent {
  /** The address and port actually bound (port 0 asks the system for a free one). */
  readonly address: string;
  readonly port: number;
  /** Counts of what came in and what was answered or dropped. */
  stats(): SnmpAgentStats;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Serves every metric of `metrics` over SNMP (read-only): at BASE.oid for metrics with an oid (uWSGI's
 * layout, BASE = 1.3.6.1.4.1.35156.17) and in the metrics table BASE.20 for all. Values are read when
 * each request arrives; metrics defined later by any process appear in the next request.
 */
export async function startSnmpAgent(metrics: Metrics, options: SnmpAgentOptions): Promise<SnmpAgent> {
  // Duck-typed: a Metrics from another copy of the package works as well.
  if (typeof (metrics as Partial<Metrics> | null)?.list !== 'function' || typeof (metrics as Partial<Metrics>).getBigInt !== 'function')
    throw new TypeError('startSnmpAgent: the first argument must be a Metrics instance (Metrics.open())');
  if (typeof options !== 'object' || options === null) throw new TypeError('startSnmpAgent: options must be { address, community?, v3? }');
  const { host, port, family } = parseSnmpAddress(options.address);
  const log = options.log ?? ((message: string) => process.stderr.write(`shmetrics: ${message}\n`));
  if (typeof log !== 'function') throw new TypeError(`options.log must be a function, not ${typeof log}`);
  const community = options.community;
  if (community !== undefined) {
    if (typeof community !== 'string') throw new TypeError(`options.community must be a string, not ${typeof community}`);
    if (community === '') throw new SnmpConfigError('community', community, 'it is empty');
  }
  const v3 = options.v3 === undefined ? undefined : checkV3User(options.v3);
  if (community === undefined && v3 === undefined)
    throw new SnmpConfigError('agent options', options.address, 'give a community (v1/v2c) or a v3 user: with neither nothing could ever be answered');

  const view = new MetricsMibView(metrics, log);
  const responder = new SnmpResponder(metrics, view, { community, v3 }, log);
  const socket = dgram.createSocket({ type: family });
  let sendErrorLogged = false;
  const sendFailed = (remote: dgram.RemoteInfo, error: Error | null) => {
    if (!error || sendErrorLogged) return;
    sendErrorLogged = true;
    log(`SNMP: cannot answer ${remote.address}:${remote.port}: ${error.message}; further send errors are not logged`);
  };
  socket.on('message', (packet, remote) => {
    const answer = responder.respond(packet, `${remote.address}:${remote.port}`);
    // Port 0 cannot be answered (and dgram.send would throw on it): a forged source.
    if (!answer || remote.port === 0) return;
    try {
      socket.send(answer, remote.port, remote.address, (error) => sendFailed(remote, error));
    } catch (error) {
      sendFailed(remote, error as Error);
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.close();
      const hint = error.code === 'EACCES' && port < 1024 ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : '';
      reject(new SnmpConfigError('address', options.address, `cannot listen on udp ${host}:${port}: ${error.code ?? error.message}${hint}`));
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  socket.on('error', (error) => log(`SNMP: socket error: ${error.message}`));

  const bound = socket.address();
  const versions = [community !== undefined ? 'v1/v2c community' : '', v3 ? `v3 user ${JSON.stringify(v3.user)} (authPriv SHA/AES)` : '']
    .filter(Boolean)
    .join(', ');
  log(`SNMP agent listening on ${family === 'udp6' ? `[${bound.address}]` : bound.address}:${bound.port} (${versions}; ${view.size} metric${view.size === 1 ? '' : 's'} under ${BASE_OID})`);
  if (!/^(127\.|::1$|::ffff:127\.)/.test(bound.address))
    log(`SNMP: ${bound.address}:${bound.port} is reachable from other machines; SNMP v1/v2c communities cross the network in clear text`);

  let closed: Promise<void> | undefined;
  return {
    address: bound.address,
    port: bound.port,
    stats: () => structuredClone(responder.stats),
    close: () => (closed ??= new Promise<void>((resolve) => socket.close(() => resolve()))),
  };
}
