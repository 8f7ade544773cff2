import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import snmp from 'net-snmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { SnmpConfigError, startSnmpAgent, type SnmpAgent } from '../../src/snmp';
import { localizeKey } from '../../src/snmp/usm';
import { BASE, closeAgentRun, missingSnmpTools, regionPath, SnmpTools, V3_ARGS, V3_USER } from './snmp-tools';

describe('USM keys', () => {
  it('localizes a passphrase as RFC 3414 A.3.2 does (SHA, "maplesyrup")', () => {
    const engineId = Buffer.from('000000000000000000000002', 'hex');
    expect(localizeKey('maplesyrup', engineId).toString('hex')).toBe('6695febc9288e36282235fc7151f128497b38f3f');
  });

  it("localizes exactly as net-snmp's own USM does", () => {
    const engineId = Buffer.from('8000895405a1b2c3d4e5f60708', 'hex');
    expect(localizeKey(V3_USER.privKey, engineId)).toEqual(snmp.Authentication.passwordToKey(snmp.AuthProtocols.sha, V3_USER.privKey, engineId));
  });
});

/** net-snmp's client: a second, independent SNMP implementation. */
function netSnmpGet(session: snmp.Session, oids: string[]): Promise<snmp.Varbind[]> {
  return new Promise((resolve, reject) => {
    session.get(oids, (error, varbinds) => {
      session.close();
      if (error) reject(error);
      else resolve(varbinds);
    });
  });
}

describe.skipIf(missingSnmpTools())('SNMPv3 (authPriv, SHA + AES-128)', () => {
  const path = regionPath('v3');
  let metrics: Metrics;
  let agent: SnmpAgent;
  let tools: SnmpTools;
  const logs: string[] = [];
  const oid = `${BASE}.100.1`;

  beforeAll(async () => {
    metrics = Metrics.open({ path });
    metrics.define('name=v3.hits,oid=100.1').inc(2n ** 40n + 5n);
    agent = await startSnmpAgent(metrics, { address: '127.0.0.1:0', v3: V3_USER, log: (m) => logs.push(m) });
    tools = new SnmpTools(agent.port);
  });

  afterAll(() => closeAgentRun({ agent, metrics, tools, path }));

  const v3With = (changes: Record<string, string>) => {
    const args = [...V3_ARGS];
    for (const [flag, value] of Object.entries(changes)) args[args.indexOf(flag) + 1] = value;
    return tools.run('snmpget', [...args, '-On', '-m', '', `127.0.0.1:${agent.port}`, oid]);
  };

  it('answers snmpget after engine discovery and time synchronisation', async () => {
    expect(await tools.v3('snmpget', oid)).toEqual({ stdout: `${oid} = Counter64: 1099511627781\n`, stderr: '', code: 0 });
    expect(agent.stats().reports).toBeGreaterThanOrEqual(1); // the discovery report
  });

  it("answers net-snmp's v3 client too", async () => {
    const session = snmp.createV3Session(
      '127.0.0.1',
      {
        name: V3_USER.user,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols.sha,
        authKey: V3_USER.authKey,
        privProtocol: snmp.PrivProtocols.aes,
        privKey: V3_USER.privKey,
      },
      { port: agent.port, timeout: 2000, retries: 1 },
    );
    const [varbind] = await netSnmpGet(session, [oid.slice(1)]);
    expect(varbind.type).toBe(snmp.ObjectType.Counter64);
    expect(BigInt(`0x${(varbind.value as Buffer).toString('hex')}`)).toBe(2n ** 40n + 5n);
  });

  it('reports a wrong auth key, a wrong priv key and an unknown user (RFC 3414 usmStats reports), logging each once', async () => {
    expect(await v3With({ '-A': 'not-the-auth-key' })).toEqual({
      stdout: '',
      stderr: 'snmpget: Authentication failure (incorrect password, community or key)\n',
      code: 1,
    });
    expect(await v3With({ '-X': 'not-the-priv-key' })).toEqual({ stdout: '', stderr: 'snmpget: Decryption error\n', code: 1 });
    expect(await v3With({ '-u': 'intruder' })).toEqual({ stdout: '', stderr: 'snmpget: Unknown user name\n', code: 1 });
    expect(await v3With({ '-A': 'not-the-auth-key' })).toMatchObject({ code: 1 });
    expect(logs.filter((line) => line.includes('wrong digest'))).toHaveLength(1);
    expect(logs.filter((line) => line.includes('does not decrypt'))).toHaveLength(1);
    expect(logs.filter((line) => line.includes('unknown user "intruder"'))).toHaveLength(1);
  });

  it('refuses less than authPriv with authorizationError', async () => {
    for (const level of [
      ['-l', 'authNoPriv', '-u', V3_USER.user, '-a', 'SHA', '-A', V3_USER.authKey],
      ['-l', 'noAuthNoPriv', '-u', V3_USER.user],
    ])
      expect(await tools.run('snmpget', ['-v3', ...level, '-On', '-m', '', `127.0.0.1:${agent.port}`, oid])).toEqual({
        stdout: '',
        stderr: 'Error in packet\nReason: authorizationError (access denied to that object)\n',
        code: 2,
      });
  });

  it('reports an unknown context', async () => {
    const result = await tools.run('snmpget', [...V3_ARGS, '-n', 'other', '-On', '-m', '', `127.0.0.1:${agent.port}`, oid]);
    expect(result).toEqual({ stdout: '', stderr: 'snmpget: Bad context specified\n', code: 1 });
  });

  it('does not answer v1/v2c when only a v3 user is configured', async () => {
    expect(await tools.run('snmpget', ['-v2c', '-c', 'public', '-t', '1', '-r', '0', '-On', '-m', '', `127.0.0.1:${agent.port}`, oid])).toEqual({
      stdout: '',
      stderr: `Timeout: No Response from 127.0.0.1:${agent.port}.\n`,
      code: 1,
    });
  });
});

/** Whether this machine has an IPv6 loopback to listen on (containers often do not). */
const ipv6Loopback = (() => {
  const probe = spawnSync(process.execPath, ['-e', "require('dgram').createSocket('udp6').bind(0, '::1', function () { this.close(); })"]);
  return probe.status === 0;
})();

describe('startSnmpAgent options', () => {
  const path = regionPath('options');
  let metrics: Metrics;
  beforeAll(() => {
    metrics = Metrics.open({ path });
  });
  afterAll(() => {
    metrics.close();
    fs.rmSync(path, { force: true });
  });

  it('needs a community or a v3 user', async () => {
    await expect(startSnmpAgent(metrics, { address: '127.0.0.1:0' })).rejects.toThrow(
      'invalid SNMP agent options "127.0.0.1:0": give a community (v1/v2c) or a v3 user: with neither nothing could ever be answered',
    );
  });

  it('refuses short passphrases naming the user, not the secret', async () => {
    const start = startSnmpAgent(metrics, { address: '127.0.0.1:0', v3: { user: 'ops', authKey: 'short', privKey: 'long-enough-key' } });
    await expect(start).rejects.toThrow(SnmpConfigError);
    await expect(start).rejects.toThrow('invalid SNMP v3 auth key of user "ops": the passphrase is 5 characters; USM needs at least 8');
  });

  it('refuses a user name longer than 32 bytes and an empty community', async () => {
    await expect(startSnmpAgent(metrics, { address: '127.0.0.1:0', v3: { user: 'u'.repeat(33), authKey: '12345678', privKey: '12345678' } })).rejects.toThrow(
      'a USM user name is 1 to 32 bytes',
    );
    await expect(startSnmpAgent(metrics, { address: '127.0.0.1:0', community: '' })).rejects.toThrow('invalid SNMP community "": it is empty');
  });

  it('names the address it cannot listen on', async () => {
    const first = await startSnmpAgent(metrics, { address: '127.0.0.1:0', community: 'public', log: () => {} });
    try {
      await expect(startSnmpAgent(metrics, { address: `127.0.0.1:${first.port}`, community: 'public', log: () => {} })).rejects.toThrow(
        `invalid SNMP address "127.0.0.1:${first.port}": cannot listen on udp 127.0.0.1:${first.port}: EADDRINUSE`,
      );
    } finally {
      await first.close();
    }
  });

  it.skipIf(!ipv6Loopback)('listens on IPv6', async () => {
    const agent = await startSnmpAgent(metrics, { address: '[::1]:0', community: 'public', log: () => {} });
    const tools = new SnmpTools(agent.port);
    try {
      metrics.define('name=v6.hits,oid=6.6').inc(6);
      expect(await tools.run('snmpget', ['-v2c', '-c', 'public', '-On', '-m', '', `udp6:[::1]:${agent.port}`, `${BASE}.6.6`])).toEqual({
        stdout: `${BASE}.6.6 = Counter64: 6\n`,
        stderr: '',
        code: 0,
      });
      expect(agent.address).toBe('::1');
    } finally {
      await agent.close();
      tools.remove();
    }
  });

  it('logs where it listens', async () => {
    const logs: string[] = [];
    const agent = await startSnmpAgent(metrics, { address: '127.0.0.1:0', community: 'public', log: (m) => logs.push(m) });
    await agent.close();
    await agent.close(); // idempotent
    const n = metrics.list().length;
    expect(logs).toEqual([`SNMP agent listening on 127.0.0.1:${agent.port} (v1/v2c community; ${n} metric${n === 1 ? '' : 's'} under 1.3.6.1.4.1.35156.17)`]);
  });
});
