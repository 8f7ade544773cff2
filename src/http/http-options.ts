/**
 * The HTTP output's options as text (what `--http`, `--http-auth` and `--http-label-from` take), checked
 * before anything listens. Every error names the value.
 */

import fs from 'node:fs';
import net from 'node:net';
import { ShmetricsError } from '../errors';
import { checkNaming } from './prometheus-format';

/** An HTTP option that cannot be accepted. */
export class HttpOptionError extends ShmetricsError {}

export interface ListenAddress {
  /** What to pass to listen(): an IP address or a host name. */
  readonly host: string;
  readonly port: number;
  /** True for 127.0.0.0/8, ::1 and `localhost`. */
  readonly loopback: boolean;
  /** True for 0.0.0.0 and :: (every interface). */
  readonly allInterfaces: boolean;
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
const ANY = new net.BlockList();
ANY.addAddress('0.0.0.0', 'ipv4');
ANY.addAddress('::', 'ipv6');

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT` or a bare `PORT` (which means 127.0.0.1:PORT). A specific address
 * is its own explicit ask; the wildcards 0.0.0.0 and :: (every interface, often the internet) are refused
 * unless `allowAllInterfaces` is set.
 */
export function parseListenAddress(text: string, options: { allowAllInterfaces?: boolean } = {}): ListenAddress {
  const what = `address ${JSON.stringify(text)}`;
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  if (/^[0-9]+$/.test(text)) {
    host = '127.0.0.1';
    portText = text;
  } else if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
    if (net.isIPv6(host) === false) throw new HttpOptionError(`${what}: "${host}" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new HttpOptionError(`${what}: expected HOST:PORT, [IPV6]:PORT or PORT`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new HttpOptionError(`${what}: write an IPv6 address in brackets, as [${host}]:${portText}`);
  }
  if (host === '')
    throw new HttpOptionError(
      `${what}: no host; give 127.0.0.1:${portText} for this machine only, or an interface's address (0.0.0.0 means every interface)`,
    );
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535)
    throw new HttpOptionError(`${what}: the port must be a whole number from 0 to 65535`);
  const family = net.isIPv4(host) ? 'ipv4' : net.isIPv6(host) ? 'ipv6' : undefined;
  if (!family && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host))
    throw new HttpOptionError(`${what}: "${host}" is neither an IP address nor a host name`);
  const allInterfaces = family !== undefined && ANY.check(host, family);
  if (allInterfaces && !options.allowAllInterfaces)
    throw new HttpOptionError(
      `${what}: ${host} listens on every interface; give one interface's address, or set allowAllInterfaces ` +
        `(--http-all-interfaces) if that is really meant (and protect it: --http-auth, a firewall, TLS in front)`,
    );
  const loopback = family ? LOOPBACK.check(host, family) : host.toLowerCase() === 'localhost';
  return { host, port: Number(portText), loopback, allInterfaces };
}

/** Credentials for HTTP basic authentication. */
export interface HttpAuth {
  readonly user: string;
  readonly password: string;
}

/**
 * Parses `USER:PASSWORD`, or `@FILE` for a file holding that one line (keep it mode 0600: a password on
 * the command line shows in `ps`). The user may not contain `:`; the password may.
 */
export function parseHttpAuth(text: string): HttpAuth {
  let line = text;
  let from = 'http auth';
  if (text.startsWith('@')) {
    const file = text.slice(1);
    from = `http auth file ${JSON.stringify(file)}`;
    try {
      line = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new HttpOptionError(`${from}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (line.includes('\n')) throw new HttpOptionError(`${from}: expected one line USER:PASSWORD`);
  }
  const colon = line.indexOf(':');
  // The value itself is a secret: name where it came from, never echo it.
  if (colon < 0) throw new HttpOptionError(`${from}: expected USER:PASSWORD (no ":" found)`);
  return checkHttpAuth({ user: line.slice(0, colon), password: line.slice(colon + 1) }, from);
}

/** Checks credentials given as an object (RFC 7617: no ":" in the user, no control characters). */
export function checkHttpAuth(auth: HttpAuth, from = 'http auth'): HttpAuth {
  if (auth.user === '') throw new HttpOptionError(`${from}: the user is empty`);
  if (auth.user.includes(':')) throw new HttpOptionError(`${from}: the user may not contain ":"`);
  if (auth.password === '') throw new HttpOptionError(`${from}: the password is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(auth.user + auth.password)) throw new HttpOptionError(`${from}: control characters are not allowed`);
  return { user: auth.user, password: auth.password };
}

/** Parses `worker,core` (commas or spaces) into label-from segment names. */
export function parseLabelFrom(text: string): string[] {
  const labels = text.split(/[\s,;]+/).filter((s) => s !== '');
  try {
    checkNaming({ labelFrom: labels });
  } catch (error) {
    throw new HttpOptionError((error as Error).message.replace(/^labelFrom/, 'label-from'));
  }
  return labels;
}
