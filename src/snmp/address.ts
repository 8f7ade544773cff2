import { isIPv6 } from 'node:net';
import { SnmpConfigError } from './errors';

/** Without a port the agent listens on 1161: 161 needs root (or CAP_NET_BIND_SERVICE). */
export const DEFAULT_SNMP_PORT = 1161;

export interface SnmpAddress {
  host: string;
  port: number;
  /** The socket type the host needs. */
  family: 'udp4' | 'udp6';
}

/**
 * `HOST:PORT`, `HOST` (port 1161), `:PORT` (every IPv4 interface), `[IPV6]:PORT`, `[IPV6]` or a bare
 * IPv6 address. Throws SnmpConfigError naming the text.
 */
export function parseSnmpAddress(text: string): SnmpAddress {
  if (typeof text !== 'string') throw new TypeError(`SNMP address must be a string, not ${typeof text}`);
  const fail = (detail: string): never => {
    throw new SnmpConfigError('address', text, detail);
  };
  const trimmed = text.trim();
  if (trimmed === '') fail('it is empty; give HOST:PORT such as 127.0.0.1:1161');

  let host: string;
  let portText: string | undefined;
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    if (close < 0) fail('"[" without "]"');
    host = trimmed.slice(1, close);
    const rest = trimmed.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail(`unexpected ${JSON.stringify(rest)} after "]"`);
    if (rest !== '') portText = rest.slice(1);
    if (!isIPv6(host)) fail(`${JSON.stringify(host)} in brackets is not an IPv6 address`);
  } else if (isIPv6(trimmed)) {
    host = trimmed;
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon >= 0) {
      if (trimmed.indexOf(':') !== colon) fail('an IPv6 address with a port goes in brackets: [::1]:1161');
      host = trimmed.slice(0, colon);
      portText = trimmed.slice(colon + 1);
    } else host = trimmed;
    if (host === '') host = '0.0.0.0';
    else if (/^[0-9]+$/.test(host)) fail(`${JSON.stringify(host)} is not a host; for a port alone write :${host}`);
    else if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) fail(`${JSON.stringify(host)} is not a host name or IPv4 address`);
  }

  let port = DEFAULT_SNMP_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) fail(`port ${JSON.stringify(portText)} is not a number from 0 to 65535`);
    port = Number(portText);
  }
  return { host, port, family: isIPv6(host) ? 'udp6' : 'udp4' };
}
