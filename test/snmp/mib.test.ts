import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics, registerBuiltins } from '../../src';
import { builtinDefinitions } from '../../src/builtins';
import { startSnmpAgent, type SnmpAgent } from '../../src/snmp';
import { TYPE_CODES } from '../../src/snmp/mib-view';
import { BASE, closeAgentRun, MIB_FILE, missingSnmpTools, regionPath, SnmpTools } from './snmp-tools';

describe.skipIf(missingSnmpTools())('SHMETRICS-MIB.txt', () => {
  const path = regionPath('mib');
  let metrics: Metrics;
  let agent: SnmpAgent;
  let tools: SnmpTools;
  const translate = (...args: string[]) => tools.run('snmptranslate', ['-Pw', '-m', MIB_FILE, ...args]);

  beforeAll(async () => {
    metrics = Metrics.open({ path });
    registerBuiltins(metrics, { workers: 1 });
    metrics.define('name=app.hits,oid=100.1').inc(9);
    metrics.define('name=app.no_oid,type=gauge').set(4);
    agent = await startSnmpAgent(metrics, { address: '127.0.0.1:0', community: 'public', log: () => {} });
    tools = new SnmpTools(agent.port);
  });

  afterAll(() => closeAgentRun({ agent, metrics, tools, path }));

  it('loads in snmptranslate without a warning or an error', async () => {
    const result = await translate('-Tp', 'SHMETRICS-MIB::shmetrics');
    expect({ stderr: result.stderr, code: result.code }).toEqual({ stderr: '', code: 0 });
    expect(result.stdout).toContain('+--shmMetricTable(20)');
  });

  it('translates names to the OIDs the agent answers at, and back', async () => {
    const names: [string, string][] = [
      ['SHMETRICS-MIB::shmetrics', BASE],
      ['SHMETRICS-MIB::shmWorkers', `${BASE}.3`],
      ['SHMETRICS-MIB::shmCoreTotalTx', `${BASE}.5.100`],
      ['SHMETRICS-MIB::shmSystemLoad1', `${BASE}.10.1`],
      ['SHMETRICS-MIB::shmMetricName', `${BASE}.20.1.1`],
      ['SHMETRICS-MIB::shmMetricType', `${BASE}.20.1.2`],
      ['SHMETRICS-MIB::shmMetricCounter', `${BASE}.20.1.3`],
      ['SHMETRICS-MIB::shmMetricGauge', `${BASE}.20.1.4`],
    ];
    for (const [name, oid] of names) {
      expect((await translate('-On', name)).stdout).toBe(`${oid}\n`);
      expect((await translate(oid)).stdout).toBe(`${name}\n`);
    }
    expect((await translate(`${BASE}.3.1.1`)).stdout).toBe('SHMETRICS-MIB::shmWorkers.1.1\n');
  });

  it('declares every built-in core.* and system.* metric with the SNMP type the agent sends, and no others', async () => {
    const declared = new Map<string, string>();
    for (const [namespace, arc] of [['shmCore', 5], ['shmSystem', 10]] as const)
      for (const match of (await translate('-Tp', `SHMETRICS-MIB::${namespace}`)).stdout.matchAll(/-R-- (\w+)\s+\w+\((\d+)\)/g))
        declared.set(`${arc}.${match[2]}`, match[1]);
    const builtins = builtinDefinitions(1).filter((d) => d.oid && /^(5|10)\./.test(d.oid));
    expect(declared).toEqual(new Map(builtins.map((d) => [d.oid!, d.type === 'gauge' ? 'Gauge' : 'Counter64'])));
    for (const definition of builtins) {
      const syntax = (await translate('-Td', `${BASE}.${definition.oid}`)).stdout.match(/SYNTAX\t(\w+)/)?.[1];
      expect(syntax, `${definition.name} (${definition.oid})`).toBe(definition.type === 'gauge' ? 'Gauge32' : 'Counter64');
    }
  });

  it('enumerates shmMetricType as the agent codes types', async () => {
    const values = (await translate('-Td', 'SHMETRICS-MIB::shmMetricType')).stdout.match(/INTEGER \{(.*)\}/)?.[1];
    expect(values).toBe(
      Object.entries(TYPE_CODES)
        .map(([name, code]) => `${name}(${code})`)
        .join(', '),
    );
  });

  it('lets snmpwalk -m print names, with every value of the type the MIB declares', async () => {
    const result = await tools.run('snmpwalk', ['-v2c', '-c', 'public', '-m', MIB_FILE, `127.0.0.1:${agent.port}`, 'SHMETRICS-MIB::shmetrics']);
    expect({ stderr: result.stderr, code: result.code }).toEqual({ stderr: '', code: 0 });
    expect(result.stdout).not.toContain('Wrong Type');
    const hits = metrics.list().find((m) => m.name === 'app.hits')!.slot + 1;
    const noOid = metrics.list().find((m) => m.name === 'app.no_oid')!.slot + 1;
    for (const line of [
      'SHMETRICS-MIB::shmWorkers.1.1 = Counter64: 0',
      'SHMETRICS-MIB::shmCoreBusyWorkers = Gauge32: 0',
      'SHMETRICS-MIB::shmCoreTotalTx = Counter64: 0 bytes', // with the MIB's UNITS
      `SHMETRICS-MIB::shmMetricName.${hits} = STRING: app.hits`,
      `SHMETRICS-MIB::shmMetricType.${hits} = INTEGER: counter(1)`,
      `SHMETRICS-MIB::shmMetricCounter.${hits} = Counter64: 9`,
      `SHMETRICS-MIB::shmMetricGauge.${noOid} = Gauge32: 4`,
      'SHMETRICS-MIB::shmetrics.100.1 = Counter64: 9',
    ])
      expect(result.stdout).toContain(`${line}\n`);
  });

  it('lets snmptable show the metrics table', async () => {
    const result = await tools.run('snmptable', ['-v2c', '-c', 'public', '-m', MIB_FILE, '-Cf', ',', `127.0.0.1:${agent.port}`, 'SHMETRICS-MIB::shmMetricTable']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['SNMP table: SHMETRICS-MIB::shmMetricTable', '', 'shmMetricName,shmMetricType,shmMetricCounter,shmMetricGauge']);
    expect(lines).toContain('app.hits,counter,9,?');
    expect(lines).toContain('app.no_oid,gauge,?,4');
    expect(lines.filter((line) => line.includes(','))).toHaveLength(metrics.list().length + 1);
  });
});
