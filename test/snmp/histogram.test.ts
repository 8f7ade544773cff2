import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Histogram, Metrics } from '../../src';
import { DERIVED_SUFFIXES } from '../../src/histogram/derived-series';
import { startSnmpAgent, type SnmpAgent } from '../../src/snmp';
import { BASE, closeAgentRun, compareDotted, missingSnmpTools, regionPath, SnmpTools, walkedOids } from './snmp-tools';

const missing = missingSnmpTools();

/** `${BASE}.${oid}` and its derived series `.1` to `.8`, in OID order. */
const withDerived = (oid: string) => [`${BASE}.${oid}`, ...DERIVED_SUFFIXES.map((_, i) => `${BASE}.${oid}.${i + 1}`)];

/** snmpget/snmpwalk -On lines, newline-terminated. */
const lines = (...list: string[]) => list.map((line) => `${line}\n`).join('');

describe.skipIf(missing)('histograms over SNMP: BASE.oid (the count) and its derived OIDs BASE.oid.1 to .8', () => {
  const path = regionPath('histogram');
  let metrics: Metrics;
  let agent: SnmpAgent;
  let tools: SnmpTools;
  const logs: string[] = [];

  beforeAll(async () => {
    metrics = Metrics.open({ path });
    metrics.define('name=app.before,type=gauge,oid=100.6').set(1);
    const latency = metrics.define('name=app.latency,type=histogram,buckets=10;100;1000,oid=100.7') as Histogram;
    for (const v of [5, 50, 50, 500]) latency.observe(v);
    metrics.define('name=app.after,oid=100.8').inc(3);
    metrics.define('name=app.empty,type=histogram,buckets=10;100,oid=100.9');
    metrics.define('name=app.latency_alias,type=alias,alias=app.latency,oid=100.11');
    (metrics.define('name=app.no_oid,type=histogram,buckets=1;2') as Histogram).observe(1);
    agent = await startSnmpAgent(metrics, { address: '127.0.0.1:0', community: 'public', log: (m) => logs.push(m) });
    tools = new SnmpTools(agent.port);
  });

  afterAll(() => closeAgentRun({ agent, metrics, tools, path }));

  it('answers a GET of the count at BASE.oid and of every derived series, in deriveSeries() order, over v2c', async () => {
    expect(DERIVED_SUFFIXES).toEqual(['count', 'sum', 'p50', 'p90', 'p99', 'p999', 'min', 'max']);
    const { stdout, stderr, code } = await tools.v2c('snmpget', ...withDerived('100.7'));
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.100.7 = Counter64: 4',
        '.1.3.6.1.4.1.35156.17.100.7.1 = Counter64: 4', // count
        '.1.3.6.1.4.1.35156.17.100.7.2 = Counter64: 605', // sum
        '.1.3.6.1.4.1.35156.17.100.7.3 = Gauge32: 100', // p50
        '.1.3.6.1.4.1.35156.17.100.7.4 = Gauge32: 1000', // p90
        '.1.3.6.1.4.1.35156.17.100.7.5 = Gauge32: 1000', // p99
        '.1.3.6.1.4.1.35156.17.100.7.6 = Gauge32: 1000', // p999
        '.1.3.6.1.4.1.35156.17.100.7.7 = Gauge32: 0', // min: the lower edge of the first bucket
        '.1.3.6.1.4.1.35156.17.100.7.8 = Gauge32: 1000', // max
      ),
    );
  });

  it('answers the same values as the histogram snapshot and the other outputs (deriveSeries)', async () => {
    const s = metrics.histogram('app.latency').snapshot();
    const expected = [s.count, s.sum, s.quantile(0.5), s.quantile(0.9), s.quantile(0.99), s.quantile(0.999), s.min, s.max];
    const { stdout } = await tools.v2c('snmpget', ...withDerived('100.7').slice(1));
    expect(stdout.split('\n').filter(Boolean).map((line) => Number(line.split(': ')[1]))).toEqual(expected);
  });

  it('sends count and sum as Counter32 (low 32 bits) over v1, the gauges as Gauge32', async () => {
    const { stdout, stderr, code } = await tools.v1('snmpget', ...withDerived('100.7'));
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.100.7 = Counter32: 4',
        '.1.3.6.1.4.1.35156.17.100.7.1 = Counter32: 4',
        '.1.3.6.1.4.1.35156.17.100.7.2 = Counter32: 605',
        '.1.3.6.1.4.1.35156.17.100.7.3 = Gauge32: 100',
        '.1.3.6.1.4.1.35156.17.100.7.4 = Gauge32: 1000',
        '.1.3.6.1.4.1.35156.17.100.7.5 = Gauge32: 1000',
        '.1.3.6.1.4.1.35156.17.100.7.6 = Gauge32: 1000',
        '.1.3.6.1.4.1.35156.17.100.7.7 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.7.8 = Gauge32: 1000',
      ),
    );
  });

  it('answers 0 for every series of an empty histogram', async () => {
    const { stdout } = await tools.v2c('snmpget', ...withDerived('100.9'));
    expect(stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.100.9 = Counter64: 0',
        '.1.3.6.1.4.1.35156.17.100.9.1 = Counter64: 0',
        '.1.3.6.1.4.1.35156.17.100.9.2 = Counter64: 0',
        '.1.3.6.1.4.1.35156.17.100.9.3 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.9.4 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.9.5 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.9.6 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.9.7 = Gauge32: 0',
        '.1.3.6.1.4.1.35156.17.100.9.8 = Gauge32: 0',
      ),
    );
  });

  it('walks the derived OIDs in order, right after the histogram and before the next metric', async () => {
    const { stdout, stderr, code } = await tools.v2c('snmpwalk', `${BASE}.100`);
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    const walked = stdout.split('\n');
    const from = walked.indexOf('.1.3.6.1.4.1.35156.17.100.6 = Gauge32: 1');
    expect(walked.slice(from, from + 11)).toEqual([
      '.1.3.6.1.4.1.35156.17.100.6 = Gauge32: 1',
      '.1.3.6.1.4.1.35156.17.100.7 = Counter64: 4',
      '.1.3.6.1.4.1.35156.17.100.7.1 = Counter64: 4',
      '.1.3.6.1.4.1.35156.17.100.7.2 = Counter64: 605',
      '.1.3.6.1.4.1.35156.17.100.7.3 = Gauge32: 100',
      '.1.3.6.1.4.1.35156.17.100.7.4 = Gauge32: 1000',
      '.1.3.6.1.4.1.35156.17.100.7.5 = Gauge32: 1000',
      '.1.3.6.1.4.1.35156.17.100.7.6 = Gauge32: 1000',
      '.1.3.6.1.4.1.35156.17.100.7.7 = Gauge32: 0',
      '.1.3.6.1.4.1.35156.17.100.7.8 = Gauge32: 1000',
      '.1.3.6.1.4.1.35156.17.100.8 = Counter64: 3',
    ]);
    // An alias of a histogram answers its count at its own oid, as before; the derived OIDs are the histogram's.
    expect(walkedOids(stdout)).toEqual([`${BASE}.100.6`, ...withDerived('100.7'), `${BASE}.100.8`, ...withDerived('100.9'), `${BASE}.100.11`]);
    expect(stdout).toContain('.1.3.6.1.4.1.35156.17.100.11 = Counter64: 4\n');
  });

  it('walks the whole tree in OID order, the same with GETNEXT, GETBULK and over v1 (Counter32)', async () => {
    const walk = await tools.v2c('snmpwalk', BASE);
    expect({ stderr: walk.stderr, code: walk.code }).toEqual({ stderr: '', code: 0 });
    const oids = walkedOids(walk.stdout);
    expect([...oids].sort(compareDotted)).toEqual(oids);
    expect(new Set(oids).size).toBe(oids.length);
    for (const bulk of [await tools.v2c('snmpbulkwalk', BASE), await tools.v2c('snmpbulkwalk', '-Cr7', BASE)]) {
      expect({ stderr: bulk.stderr, code: bulk.code }).toEqual({ stderr: '', code: 0 });
      expect(bulk.stdout).toBe(walk.stdout);
    }
    const v1 = await tools.v1('snmpwalk', `${BASE}.100`);
    expect({ stderr: v1.stderr, code: v1.code }).toEqual({ stderr: '', code: 0 });
    expect(v1.stdout).not.toContain('Counter64');
    expect(v1.stdout).toContain(
      lines(
        '.1.3.6.1.4.1.35156.17.100.7 = Counter32: 4',
        '.1.3.6.1.4.1.35156.17.100.7.1 = Counter32: 4',
        '.1.3.6.1.4.1.35156.17.100.7.2 = Counter32: 605',
        '.1.3.6.1.4.1.35156.17.100.7.3 = Gauge32: 100',
      ),
    );
    expect(v1.stdout).toContain(lines('.1.3.6.1.4.1.35156.17.100.7.8 = Gauge32: 1000', '.1.3.6.1.4.1.35156.17.100.8 = Counter32: 3'));
  });

  it('answers GETNEXT from inside and around the derived OIDs', async () => {
    const { stdout } = await tools.v2c('snmpgetnext', `${BASE}.100.7`, `${BASE}.100.7.0`, `${BASE}.100.7.3.0`, `${BASE}.100.7.8`, `${BASE}.100.7.9`);
    expect(stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.100.7.1 = Counter64: 4',
        '.1.3.6.1.4.1.35156.17.100.7.1 = Counter64: 4',
        '.1.3.6.1.4.1.35156.17.100.7.4 = Gauge32: 1000',
        '.1.3.6.1.4.1.35156.17.100.8 = Counter64: 3',
        '.1.3.6.1.4.1.35156.17.100.8 = Counter64: 3',
      ),
    );
  });

  it('answers noSuchInstance around the derived OIDs (v2c), noSuchName (v1), and nothing below a histogram without an oid or an alias', async () => {
    const { stdout } = await tools.v2c('snmpget', `${BASE}.100.7.0`, `${BASE}.100.7.9`, `${BASE}.100.7.1.0`, `${BASE}.100.11.1`);
    expect(stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.100.7.0 = No Such Instance currently exists at this OID',
        '.1.3.6.1.4.1.35156.17.100.7.9 = No Such Instance currently exists at this OID',
        '.1.3.6.1.4.1.35156.17.100.7.1.0 = No Such Instance currently exists at this OID',
        '.1.3.6.1.4.1.35156.17.100.11.1 = No Such Instance currently exists at this OID',
      ),
    );
    expect(await tools.v1('snmpget', '-Cf', `${BASE}.100.7.3`, `${BASE}.100.7.9`)).toEqual({
      stdout: '',
      stderr: 'Error in packet\nReason: (noSuchName) There is no such variable name in this MIB.\nFailed object: .1.3.6.1.4.1.35156.17.100.7.9\n\n',
      code: 2,
    });
    // The table is unchanged: a histogram's row has its count in shmMetricCounter.
    const row = metrics.list().find((m) => m.name === 'app.no_oid')!.slot + 1;
    expect((await tools.v2c('snmpget', `${BASE}.20.1.3.${row}`)).stdout).toBe(`.1.3.6.1.4.1.35156.17.20.1.3.${row} = Counter64: 1\n`);
  });

  it('refuses SET on a derived OID: notWritable in v2c, noSuchName in v1', async () => {
    expect((await tools.v2c('snmpset', `${BASE}.100.7.3`, 'u', '5')).stderr).toContain('Reason: notWritable');
    expect((await tools.v1('snmpset', `${BASE}.100.7.3`, 'u', '5')).stderr).toContain('Reason: (noSuchName)');
  });

  it('takes one snapshot of a histogram per request, however many of its OIDs the request reads', async () => {
    const handle = metrics.histogram('app.latency');
    const snapshot = vi.spyOn(handle, 'snapshot');
    try {
      await tools.v2c('snmpget', ...withDerived('100.7'));
      expect(snapshot).toHaveBeenCalledTimes(1);
      await tools.v2c('snmpbulkget', '-Cr20', `${BASE}.100.7`);
      expect(snapshot).toHaveBeenCalledTimes(2);
      await tools.v2c('snmpget', `${BASE}.100.7`); // the count alone reads no snapshot
      expect(snapshot).toHaveBeenCalledTimes(2);
    } finally {
      snapshot.mockRestore();
    }
  });

  it('clamps the gauges to 0..2^32-1 and sends the 64 bits of count and sum as any counter', async () => {
    const big = metrics.define('name=app.big,type=histogram,buckets=1000;5000000000,oid=101.1') as Histogram;
    big.observe(3_000_000_000);
    big.observe(3_000_000_000);
    const negative = metrics.define('name=app.negative,type=histogram,buckets=-100;-10,oid=101.2') as Histogram;
    negative.observe(-50);
    const v2c = await tools.v2c('snmpget', `${BASE}.101.1.2`, `${BASE}.101.1.3`, `${BASE}.101.1.7`, `${BASE}.101.2.2`, `${BASE}.101.2.3`, `${BASE}.101.2.7`);
    expect(v2c.stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.101.1.2 = Counter64: 6000000000',
        '.1.3.6.1.4.1.35156.17.101.1.3 = Gauge32: 4294967295', // p50 5000000000
        '.1.3.6.1.4.1.35156.17.101.1.7 = Gauge32: 1000', // min
        '.1.3.6.1.4.1.35156.17.101.2.2 = Counter64: 18446744073709551566', // sum -50, as a counter at -50
        '.1.3.6.1.4.1.35156.17.101.2.3 = Gauge32: 0', // p50 -10
        '.1.3.6.1.4.1.35156.17.101.2.7 = Gauge32: 0', // min -100
      ),
    );
    const v1 = await tools.v1('snmpget', `${BASE}.101.1.2`, `${BASE}.101.1.3`, `${BASE}.101.2.2`);
    expect(v1.stdout).toBe(
      lines(
        '.1.3.6.1.4.1.35156.17.101.1.2 = Counter32: 1705032704', // 6000000000 - 2^32
        '.1.3.6.1.4.1.35156.17.101.1.3 = Gauge32: 4294967295',
        '.1.3.6.1.4.1.35156.17.101.2.2 = Counter32: 4294967246',
      ),
    );
  });

  it('reads values when the request arrives, and serves histograms defined later by another process', async () => {
    const other = Metrics.open({ path, create: false });
    try {
      const late = other.define('name=late.latency,type=histogram,buckets=10;20,oid=102.1') as Histogram;
      const before = await tools.v2c('snmpwalk', `${BASE}.102`);
      expect(walkedOids(before.stdout)).toEqual(withDerived('102.1'));
      expect(before.stdout).toContain('.1.3.6.1.4.1.35156.17.102.1.3 = Gauge32: 0\n');
      late.observe(15);
      late.observe(1);
      late.observe(1);
      const after = await tools.v2c('snmpget', ...withDerived('102.1'));
      expect(after.stdout).toBe(
        lines(
          '.1.3.6.1.4.1.35156.17.102.1 = Counter64: 3',
          '.1.3.6.1.4.1.35156.17.102.1.1 = Counter64: 3',
          '.1.3.6.1.4.1.35156.17.102.1.2 = Counter64: 17',
          '.1.3.6.1.4.1.35156.17.102.1.3 = Gauge32: 10',
          '.1.3.6.1.4.1.35156.17.102.1.4 = Gauge32: 20',
          '.1.3.6.1.4.1.35156.17.102.1.5 = Gauge32: 20',
          '.1.3.6.1.4.1.35156.17.102.1.6 = Gauge32: 20',
          '.1.3.6.1.4.1.35156.17.102.1.7 = Gauge32: 0',
          '.1.3.6.1.4.1.35156.17.102.1.8 = Gauge32: 20',
        ),
      );
    } finally {
      other.close();
    }
  });

  it("leaves a metric's own oid to it when a histogram's derived OID falls there, whichever was defined first, and logs it once", async () => {
    metrics.define('name=first.metric,type=gauge,oid=103.1.2').set(7);
    (metrics.define('name=hist.after,type=histogram,buckets=1,oid=103.1') as Histogram).observe(1);
    (metrics.define('name=hist.before,type=histogram,buckets=1,oid=103.2') as Histogram).observe(1);
    await tools.v2c('snmpget', `${BASE}.103.2`); // the agent takes hist.before in before the next metric
    metrics.define('name=later.metric,type=gauge,oid=103.2.3').set(9);
    const { stdout } = await tools.v2c('snmpwalk', `${BASE}.103`);
    expect(walkedOids(stdout)).toEqual([...withDerived('103.1'), ...withDerived('103.2')]);
    expect(stdout).toContain('.1.3.6.1.4.1.35156.17.103.1.2 = Gauge32: 7\n');
    expect(stdout).toContain('.1.3.6.1.4.1.35156.17.103.1.3 = Gauge32: 1\n');
    expect(stdout).toContain('.1.3.6.1.4.1.35156.17.103.2.3 = Gauge32: 9\n');
    await tools.v2c('snmpwalk', `${BASE}.103`);
    expect(logs.filter((line) => line.includes('hist.'))).toEqual([
      'SNMP: histogram "hist.after" (oid=103.1) would answer hist.after.sum at oid=103.1.2, which is the oid of "first.metric"; "first.metric" answers there and hist.after.sum is not served over SNMP',
      'SNMP: histogram "hist.before" (oid=103.2) would answer hist.before.p50 at oid=103.2.3, which is the oid of "later.metric"; "later.metric" answers there and hist.before.p50 is not served over SNMP',
    ]);
  });
});
