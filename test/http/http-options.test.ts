import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHttpAuth, HttpOptionError, parseHttpAuth, parseLabelFrom, parseListenAddress } from '../../src/http/http-options';
import { tempDir } from '../helpers/regions';

describe('the listen address', () => {
  it('takes HOST:PORT, [IPV6]:PORT, and a bare PORT as 127.0.0.1:PORT', () => {
    expect(parseListenAddress('127.0.0.1:9100')).toEqual({ host: '127.0.0.1', port: 9100, loopback: true, allInterfaces: false });
    expect(parseListenAddress('9100')).toEqual({ host: '127.0.0.1', port: 9100, loopback: true, allInterfaces: false });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0, loopback: true, allInterfaces: false });
    expect(parseListenAddress('localhost:9100')).toMatchObject({ host: 'localhost', loopback: true });
  });

  it('accepts one non-loopback interface named explicitly: the address is the ask', () => {
    expect(parseListenAddress('10.1.2.3:9100')).toEqual({ host: '10.1.2.3', port: 9100, loopback: false, allInterfaces: false });
    expect(parseListenAddress('metrics.internal:9100')).toMatchObject({ loopback: false, allInterfaces: false });
  });

  it('refuses every-interface addresses (0.0.0.0, ::) unless allowAllInterfaces, naming the value', () => {
    for (const text of ['0.0.0.0:9100', '[::]:9100', '[0:0:0:0:0:0:0:0]:9100', '[::ffff:0.0.0.0]:9100']) {
      expect(() => parseListenAddress(text)).toThrow(HttpOptionError);
      expect(() => parseListenAddress(text)).toThrow(`address ${JSON.stringify(text)}`);
      expect(parseListenAddress(text, { allowAllInterfaces: true })).toMatchObject({ allInterfaces: true, loopback: false });
    }
    expect(() => parseListenAddress('0.0.0.0:9100')).toThrow(/every interface.*--http-all-interfaces/);
  });

  it('refuses a missing host, a bad port, an unbracketed IPv6 address and junk, naming the value', () => {
    expect(() => parseListenAddress(':9100')).toThrow(/address ":9100": no host; give 127.0.0.1:9100/);
    expect(() => parseListenAddress('127.0.0.1:65536')).toThrow(/address "127.0.0.1:65536": the port/);
    expect(() => parseListenAddress('127.0.0.1:http')).toThrow(/address "127.0.0.1:http": the port/);
    expect(() => parseListenAddress('::1:9100')).toThrow(/in brackets, as \[::1\]:9100/);
    expect(() => parseListenAddress('[1.2.3.4]:80')).toThrow(/not an IPv6 address/);
    expect(() => parseListenAddress('a b:80')).toThrow(/"a b" is neither an IP address nor a host name/);
    expect(() => parseListenAddress('localhost')).toThrow(/expected HOST:PORT/);
  });
});

describe('basic auth credentials', () => {
  it('parses USER:PASSWORD; the password may contain colons', () => {
    expect(parseHttpAuth('prom:s3:cr:et')).toEqual({ user: 'prom', password: 's3:cr:et' });
  });

  it('reads @FILE (one line, trailing newline ignored)', () => {
    const file = path.join(tempDir('auth'), 'auth');
    fs.writeFileSync(file, 'prom:secret\n', { mode: 0o600 });
    expect(parseHttpAuth(`@${file}`)).toEqual({ user: 'prom', password: 'secret' });
  });

  it('refuses bad credentials without ever echoing them', () => {
    for (const bad of ['nocolon-secret', ':secret', 'prom:', 'prom:se\u0001cret']) {
      let message = '';
      try {
        parseHttpAuth(bad);
      } catch (error) {
        expect(error).toBeInstanceOf(HttpOptionError);
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('secret');
    }
    expect(() => parseHttpAuth('@/nonexistent/auth')).toThrow('http auth file "/nonexistent/auth": cannot read: ENOENT');
    expect(() => checkHttpAuth({ user: 'a:b', password: 'secret' })).toThrow('http auth: the user may not contain ":"');
  });
});

describe('label-from', () => {
  it('takes a comma- or space-separated list and refuses reserved or invalid label names', () => {
    expect(parseLabelFrom('worker,core socket')).toEqual(['worker', 'core', 'socket']);
    expect(() => parseLabelFrom('worker,le')).toThrow(/label-from "le"/);
    expect(() => parseLabelFrom('my-label')).toThrow(/label-from "my-label"/);
  });
});
