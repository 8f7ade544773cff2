import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics, registerBuiltins } from '../../src';
import { startSnmpAgent, type SnmpAgent } from '../../src/snmp';
import { BASE, closeAgentRun, compareDotted, missingSnmpTools, regionPath, SnmpTools, V3_USER, walkedOids } from './snmp-tools';

const missing = missingSnmpTools();

/** What every test below reads: built-ins for one worker and one metric of each kind. */
function defineMetrics(metrics: Metrics): void {
  registerBuiltins(metrics, { workers: 1 });
  metrics.inc('worker.1.requests', 42);
  metrics.define('name=app.hits,oid=100.100.100').inc(2n ** 32n + 12345n);
  metrics.define('name=app.temp,type=gauge,oid=100.100.101').set(-2);
  metrics.define('name=app.big,type=gauge,oid=100.100.102').set(2n ** 32n + 5n);
  metrics.define('name=app.bytes,type=absolute,oid=100.100.103').inc(7);
  metrics.define('name=app.hits_alias,type=alias,alias=app.hits,oid=100.100.104');
  metrics.define('name=app.temp_alias,type=alias,alias=app.temp,oid=100.100.105');
  metrics.define('name=app.no_oid').inc(5);
  // Same oid as app.hits: the first one keeps it (as in uWSGI); this one is only a table row.
  metrics.define('name=app.dup,oid=100.100.100').inc(99);
  const latency = metrics.histogram('app.latency', [1, 5, 10]);
  latency.observe(3);
  latency.observe(20);
}

describe.skipIf(missing)('the SNMP agent, read with Debian snmp tools', () => {
  const path = regionPath('agent');
  let metrics: Metrics;
  let agent: SnmpAgent;
  let tools: SnmpTools;
  const logs: string[] = [];
  const row = (name: string) => metrics.list().find((m) => m.name === name)!.slot + 1;

  beforeAll(async () => {
    metrics = Metrics.open({ path });
    defineMetrics(metrics);
    agent = await startSnmpAgent(metrics, { address: '127.0.0.1:0', community: 'public', v3: V3_USER, log: (m) => logs.push(m) });
    tools = new SnmpTools(agent.port);
  });

  afterAll(() => closeAgentRun({ agent, metrics, tools, path }));

  const values = [
    `${BASE}.100.100.100`,
    `${BASE}.100.100.101`,
    `${BASE}.100.100.102`,
    `${BASE}.100.100.103`,
    `${BASE}.100.100.104`,
    `${BASE}.100.100.105`,
    `${BASE}.3.1.1`,
    `${BASE}.5.3`,
  ];

  it('answers a GET of every type in one request over v2c: Counter64, and Gauge32 clamped to 0..2^32-1', async () => {
    const { stdout, stderr, code } = await tools.v2c('snmpget', ...values);
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout).toBe(
      [
        '.1.3.6.1.4.1.35156.17.100.100.100 = Counter64: 4294979641',
        '.1.3.6.1.4.1.35156.17.100.100.101 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.100.102 = Gauge32: 4294967295',
        '.1.3.6.1.4.1.35156.17.100.100.103 = Counter64: 7',
        '.1.3.6.1.4.1.35156.17.100.100.104 = Counter64: 4294979641',
        '.1.3.6.1.4.1.35156.17.100.100.105 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.3.1.1 = Counter64: 42',
        '.1.3.6.1.4.1.35156.17.5.3 = Gauge32: 0',
        '',
      ].join('\n'),
    );
  });

  it('answers the same over v3 authPriv (SHA + AES)', async () => {
    const v2c = await tools.v2c('snmpget', ...values);
    const v3 = await tools.v3('snmpget', ...values);
    expect({ stderr: v3.stderr, code: v3.code }).toEqual({ stderr: '', code: 0 });
    expect(v3.stdout).toBe(v2c.stdout);
  });

  it('sends counters as Counter32 of their low 32 bits over v1, which has no Counter64', async () => {
    const { stdout, stderr, code } = await tools.v1('snmpget', ...values);
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout).toBe(
      [
        '.1.3.6.1.4.1.35156.17.100.100.100 = Counter32: 12345',
        '.1.3.6.1.4.1.35156.17.100.100.101 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.100.102 = Gauge32: 4294967295',
        '.1.3.6.1.4.1.35156.17.100.100.103 = Counter32: 7',
        '.1.3.6.1.4.1.35156.17.100.100.104 = Counter32: 12345',
        '.1.3.6.1.4.1.35156.17.100.100.105 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.3.1.1 = Counter32: 42',
        '.1.3.6.1.4.1.35156.17.5.3 = Gauge32: 0',
        '',
      ].join('\n'),
    );
  });

  it("answers the issue's uWSGI command line as uWSGI does", async () => {
    const result = await tools.run('snmpget', ['-v2c', '-c', 'public', '-m', '', `127.0.0.1:${agent.port}`, '1.3.6.1.4.1.35156.17.3.1.1']);
    expect(result).toEqual({ stdout: 'iso.3.6.1.4.1.35156.17.3.1.1 = Counter64: 42\n', stderr: '', code: 0 });
  });

  it('reads values when the request arrives', async () => {
    const before = await tools.v2c('snmpget', `${BASE}.100.100.103`);
    metrics.inc('app.bytes', 1000);
    const after = await tools.v2c('snmpget', `${BASE}.100.100.103`);
    metrics.dec('app.bytes', 1000);
    expect(before.stdout).toBe('.1.3.6.1.4.1.35156.17.100.100.103 = Counter64: 7\n');
    expect(after.stdout).toBe('.1.3.6.1.4.1.35156.17.100.100.103 = Counter64: 1007\n');
  });

  it('lists every metric in the table: name, type, and the value in the column of its SNMP type', async () => {
    const hits = row('app.hits');
    const temp = row('app.temp');
    const noOid = row('app.no_oid');
    const dup = row('app.dup');
    const latency = row('app.latency');
    const alias = row('app.temp_alias');
    const { stdout, code } = await tools.v2c(
      'snmpget',
      `${BASE}.20.1.1.${noOid}`,
      `${BASE}.20.1.2.${noOid}`,
      `${BASE}.20.1.3.${noOid}`,
      `${BASE}.20.1.3.${dup}`,
      `${BASE}.20.1.3.${hits}`,
      `${BASE}.20.1.4.${temp}`,
      `${BASE}.20.1.2.${alias}`,
      `${BASE}.20.1.4.${alias}`,
      `${BASE}.20.1.2.${latency}`,
      `${BASE}.20.1.3.${latency}`,
    );
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        `.1.3.6.1.4.1.35156.17.20.1.1.${noOid} = STRING: "app.no_oid"`,
        `.1.3.6.1.4.1.35156.17.20.1.2.${noOid} = INTEGER: 1`,
        `.1.3.6.1.4.1.35156.17.20.1.3.${noOid} = Counter64: 5`,
        `.1.3.6.1.4.1.35156.17.20.1.3.${dup} = Counter64: 99`,
        `.1.3.6.1.4.1.35156.17.20.1.3.${hits} = Counter64: 4294979641`,
        `.1.3.6.1.4.1.35156.17.20.1.4.${temp} = Gauge32: 0`,
        `.1.3.6.1.4.1.35156.17.20.1.2.${alias} = INTEGER: 4`,
        `.1.3.6.1.4.1.35156.17.20.1.4.${alias} = Gauge32: 0`,
        `.1.3.6.1.4.1.35156.17.20.1.2.${latency} = INTEGER: 5`,
        `.1.3.6.1.4.1.35156.17.20.1.3.${latency} = Counter64: 2`,
        '',
      ].join('\n'),
    );
  });

  it('answers noSuchObject / noSuchInstance in v2c for OIDs it does not serve', async () => {
    const { stdout, code } = await tools.v2c(
      'snmpget',
      `${BASE}.99`,
      `${BASE}.100.100.100.0`,
      `${BASE}.20.1.3.${row('app.temp')}`,
      `${BASE}.20.1.1.99999`,
      '.1.3.6.1.2.1.1.1.0',
    );
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        '.1.3.6.1.4.1.35156.17.99 = No Such Object available on this agent at this OID',
        '.1.3.6.1.4.1.35156.17.100.100.100.0 = No Such Instance currently exists at this OID',
        `.1.3.6.1.4.1.35156.17.20.1.3.${row('app.temp')} = No Such Instance currently exists at this OID`,
        '.1.3.6.1.4.1.35156.17.20.1.1.99999 = No Such Instance currently exists at this OID',
        '.1.3.6.1.2.1.1.1.0 = No Such Object available on this agent at this OID',
        '',
      ].join('\n'),
    );
  });

  it('answers noSuchName in v1, naming the first missing varbind', async () => {
    // snmpget drops the varbind named by error-index and asks again (its default -Cf off): one error per missing OID.
    const noSuchName = (oid: string) => `Error in packet\nReason: (noSuchName) There is no such variable name in this MIB.\nFailed object: ${oid}\n\n`;
    expect(await tools.v1('snmpget', `${BASE}.100.100.100`, `${BASE}.99`, `${BASE}.98`)).toEqual({
      stdout: '.1.3.6.1.4.1.35156.17.100.100.100 = Counter32: 12345\n',
      stderr: noSuchName('.1.3.6.1.4.1.35156.17.99') + noSuchName('.1.3.6.1.4.1.35156.17.98'),
      code: 2,
    });
    expect(await tools.v1('snmpget', '-Cf', `${BASE}.100.100.100.0`)).toEqual({
      stdout: '',
      stderr: noSuchName('.1.3.6.1.4.1.35156.17.100.100.100.0'),
      code: 2,
    });
  });

  it('ends GETNEXT with endOfMibView in v2c and noSuchName in v1', async () => {
    const last = '.1.3.6.1.6.3.10.2.1.4.0'; // snmpEngineMaxMessageSize, after every metric
    expect(await tools.v2c('snmpgetnext', last)).toEqual({
      stdout: `${last} = No more variables left in this MIB View (It is past the end of the MIB tree)\n`,
      stderr: '',
      code: 0,
    });
    const v1 = await tools.v1('snmpgetnext', last);
    expect(v1.code).toBe(2);
    expect(v1.stderr).toBe(`Error in packet.\nReason: (noSuchName) There is no such variable name in this MIB.\nFailed object: ${last}\n\n`);
  });

  it('answers GETNEXT from anywhere with the next instance in OID order', async () => {
    const { stdout } = await tools.v2c('snmpgetnext', '.1.3', `${BASE}.100.100.100`, `${BASE}.100.100.100.7`, `${BASE}.100.100.105`);
    const lines = stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '.1.3.6.1.4.1.35156.17.3.0.1 = Counter64: 0',
      '.1.3.6.1.4.1.35156.17.100.100.101 = Gauge32: 0',
      '.1.3.6.1.4.1.35156.17.100.100.101 = Gauge32: 0',
    ]);
    // After the metrics: SNMP-FRAMEWORK-MIB::snmpEngineID.0, so that a walk of 35156.17 ends on an OID outside it.
    expect(lines[3]).toMatch(/^\.1\.3\.6\.1\.6\.3\.10\.2\.1\.1\.0 = Hex-STRING: 80 00 89 54 05( [0-9A-F]{2}){8} ?$/);
  });

  /** Every instance the agent serves under BASE, in OID order, from the definitions alone. */
  function expectedWalk(): string[] {
    const oids: string[] = [];
    const owners = new Set<string>();
    for (const info of metrics.list()) {
      const index = info.slot + 1;
      oids.push(`${BASE}.20.1.1.${index}`, `${BASE}.20.1.2.${index}`);
      let target = info;
      while (target.type === 'alias') target = metrics.list().find((m) => m.name === target.alias)!;
      oids.push(`${BASE}.20.1.${target.type === 'gauge' ? 4 : 3}.${index}`);
      if (info.oid && !owners.has(info.oid)) {
        owners.add(info.oid);
        oids.push(`${BASE}.${info.oid}`);
        // A histogram also answers its derived series .1 (count) to .8 (max): worker.N.response_time here.
        if (info.type === 'histogram') for (let k = 1; k <= 8; k++) oids.push(`${BASE}.${info.oid}.${k}`);
      }
    }
    return oids.sort(compareDotted);
  }

  it('walks the whole 35156.17 subtree with snmpwalk: every instance once, in OID order, ending cleanly', async () => {
    const { stdout, stderr, code } = await tools.v2c('snmpwalk', BASE);
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    const oids = walkedOids(stdout);
    expect([...oids].sort(compareDotted)).toEqual(oids);
    expect(oids).toEqual(expectedWalk());
    expect(stdout).not.toContain('No more variables');
    expect(stdout).toContain(`${BASE}.20.1.1.${row('app.no_oid')} = STRING: "app.no_oid"\n`);
    expect(stdout).toContain(`${BASE}.100.100.100 = Counter64: 4294979641\n`);
  });

  it('gives the same walk with snmpbulkwalk (GETBULK), over v2c and v3', async () => {
    const walk = await tools.v2c('snmpwalk', BASE);
    for (const result of [await tools.v2c('snmpbulkwalk', BASE), await tools.v2c('snmpbulkwalk', '-Cr50', BASE), await tools.v3('snmpbulkwalk', BASE)]) {
      expect({ stderr: result.stderr, code: result.code }).toEqual({ stderr: '', code: 0 });
      expect(result.stdout).toBe(walk.stdout);
    }
  });

  it('walks over v1 too, with Counter32 values', async () => {
    const { stdout, stderr, code } = await tools.v1('snmpwalk', BASE);
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(walkedOids(stdout)).toEqual(expectedWalk());
    expect(stdout).not.toContain('Counter64');
    expect(stdout).toContain(`${BASE}.100.100.100 = Counter32: 12345\n`);
  });

  it('answers GETBULK with non-repeaters and repetitions (RFC 3416 §4.2.3)', async () => {
    const { stdout } = await tools.v2c('snmpbulkget', '-Cn1', '-Cr2', `${BASE}.100.100.99`, `${BASE}.100.100.103`, `${BASE}.100.100.104`);
    const lines = stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '.1.3.6.1.4.1.35156.17.100.100.100 = Counter64: 4294979641',
      '.1.3.6.1.4.1.35156.17.100.100.104 = Counter64: 4294979641',
      '.1.3.6.1.4.1.35156.17.100.100.105 = Gauge32: 0',
      '.1.3.6.1.4.1.35156.17.100.100.105 = Gauge32: 0',
    ]);
    expect(lines[4]).toMatch(/^\.1\.3\.6\.1\.6\.3\.10\.2\.1\.1\.0 = Hex-STRING: /);
  });

  it('shows metrics defined at run time, by any process, in the next walk', async () => {
    const other = Metrics.open({ path, create: false });
    try {
      other.define('name=late.metric,oid=200.1').inc(3);
      other.define('name=late.gauge,type=gauge').set(8);
      const { stdout } = await tools.v2c('snmpwalk', BASE);
      expect(walkedOids(stdout)).toEqual(expectedWalk());
      expect(stdout).toContain(`${BASE}.200.1 = Counter64: 3\n`);
      expect(stdout).toContain(`${BASE}.20.1.1.${row('late.gauge')} = STRING: "late.gauge"\n`);
      expect(stdout).toContain(`${BASE}.20.1.4.${row('late.gauge')} = Gauge32: 8\n`);
    } finally {
      other.close();
    }
  });

  it('gives no answer at all to a wrong community', async () => {
    const dropped = agent.stats().dropped['wrong-community'];
    for (const version of ['-v1', '-v2c'])
      expect(await tools.run('snmpget', [version, '-c', 'private', '-t', '1', '-r', '0', '-On', '-m', '', `127.0.0.1:${agent.port}`, `${BASE}.100.100.100`])).toEqual({
        stdout: '',
        stderr: `Timeout: No Response from 127.0.0.1:${agent.port}.\n`,
        code: 1,
      });
    expect(agent.stats().dropped['wrong-community']).toBe(dropped + 2);
    expect(logs.filter((line) => line.includes('wrong-community'))).toHaveLength(1);
  });

  it('refuses SET: notWritable (noCreation where nothing exists) in v2c, noSuchName in v1', async () => {
    expect(await tools.v2c('snmpset', `${BASE}.100.100.101`, 'u', '5')).toEqual({
      stdout: '',
      stderr: 'Error in packet.\nReason: notWritable (That object does not support modification)\nFailed object: .1.3.6.1.4.1.35156.17.100.100.101\n\n',
      code: 2,
    });
    expect((await tools.v2c('snmpset', `${BASE}.99`, 'i', '5')).stderr).toContain('Reason: noCreation');
    expect((await tools.v3('snmpset', `${BASE}.100.100.101`, 'u', '5')).stderr).toContain('Reason: notWritable');
    expect((await tools.v1('snmpset', `${BASE}.100.100.101`, 'u', '5')).stderr).toContain('Reason: (noSuchName)');
    expect(metrics.getBigInt('app.temp')).toBe(-2n);
  });

  it('serves SNMP-FRAMEWORK-MIB::snmpEngine (engine ID, boots, time, max message size)', async () => {
    const { stdout } = await tools.v2c('snmpget', '.1.3.6.1.6.3.10.2.1.2.0', '.1.3.6.1.6.3.10.2.1.4.0');
    expect(stdout).toBe('.1.3.6.1.6.3.10.2.1.2.0 = INTEGER: 1\n.1.3.6.1.6.3.10.2.1.4.0 = INTEGER: 65507\n');
  });

  it('logs a second metric on an oid once, naming both; the first keeps the oid', () => {
    expect(logs.filter((line) => line.includes('"app.dup"'))).toEqual([
      `SNMP: metric "app.dup" has oid=100.100.100, already answered by "app.hits" (the first one keeps it, as in uWSGI); "app.dup" is only reachable as a table row (index ${row('app.dup')})`,
    ]);
  });

  it('counts what it answered and dropped', () => {
    const stats = agent.stats();
    expect(stats.received).toBeGreaterThan(stats.answered);
    expect(stats.dropped.internal).toBe(0);
    expect(stats.dropped.malformed).toBe(0);
  });
});
