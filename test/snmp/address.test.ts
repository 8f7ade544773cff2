import { describe, expect, it } from 'vitest';
import { parseSnmpAddress, SnmpConfigError } from '../../src/snmp';

describe('parseSnmpAddress', () => {
  it('reads HOST:PORT, a host alone (port 1161), :PORT and bracketed IPv6', () => {
    expect(parseSnmpAddress('127.0.0.1:161')).toEqual({ host: '127.0.0.1', port: 161, family: 'udp4' });
    expect(parseSnmpAddress('127.0.0.1')).toEqual({ host: '127.0.0.1', port: 1161, family: 'udp4' });
    expect(parseSnmpAddress('localhost:0')).toEqual({ host: 'localhost', port: 0, family: 'udp4' });
    expect(parseSnmpAddress(':1162')).toEqual({ host: '0.0.0.0', port: 1162, family: 'udp4' });
    expect(parseSnmpAddress('[::1]:1161')).toEqual({ host: '::1', port: 1161, family: 'udp6' });
    expect(parseSnmpAddress('[::1]')).toEqual({ host: '::1', port: 1161, family: 'udp6' });
    expect(parseSnmpAddress('::1')).toEqual({ host: '::1', port: 1161, family: 'udp6' });
  });

  const bad: [string, string][] = [
    ['', 'invalid SNMP address "": it is empty; give HOST:PORT such as 127.0.0.1:1161'],
    ['127.0.0.1:', 'invalid SNMP address "127.0.0.1:": port "" is not a number from 0 to 65535'],
    ['127.0.0.1:65536', 'invalid SNMP address "127.0.0.1:65536": port "65536" is not a number from 0 to 65535'],
    ['127.0.0.1:snmp', 'invalid SNMP address "127.0.0.1:snmp": port "snmp" is not a number from 0 to 65535'],
    ['1161', 'invalid SNMP address "1161": "1161" is not a host; for a port alone write :1161'],
    ['fe80::1:x:1161', 'invalid SNMP address "fe80::1:x:1161": an IPv6 address with a port goes in brackets: [::1]:1161'],
    ['[::1', 'invalid SNMP address "[::1": "[" without "]"'],
    ['[10.0.0.1]:1161', 'invalid SNMP address "[10.0.0.1]:1161": "10.0.0.1" in brackets is not an IPv6 address'],
    ['my host:1161', 'invalid SNMP address "my host:1161": "my host" is not a host name or IPv4 address'],
  ];
  for (const [text, message] of bad)
    it(`refuses ${JSON.stringify(text)}, naming it`, () => {
      expect(() => parseSnmpAddress(text)).toThrow(SnmpConfigError);
      expect(() => parseSnmpAddress(text)).toThrow(message);
    });

  it('refuses a non-string with a TypeError', () => {
    expect(() => parseSnmpAddress(1161 as unknown as string)).toThrow(TypeError);
  });
});
