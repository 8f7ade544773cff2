import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { Tag } from '../../src/snmp/ber';
import { MetricsMibView } from '../../src/snmp/mib-view';
import { SnmpResponder } from '../../src/snmp/responder';
import { regionPath } from './snmp-tools';
import { compareDotted } from './snmp-tools';
import { decodeResponse, request } from './wire';
import fs from 'node:fs';

const BASE = '1.3.6.1.4.1.35156.17';
const ENGINE = ['1', '2', '3', '4'].map((arc) => `1.3.6.1.6.3.10.2.1.${arc}.0`);

/**
 * GET and GETNEXT of random OIDs against a brute-force model of what the agent serves: every instance
 * sorted, GET answers exactly those, GETNEXT the first one after the OID asked.
 */
describe('the OID order of the agent, against a brute-force model', () => {
  const path = regionPath('order');
  let metrics: Metrics;
  let responder: SnmpResponder;
  let served: string[];

  beforeAll(() => {
    metrics = Metrics.open({ path });
    const oids = ['0', '0.0', '1', '1.1', '3.1.2', '3.1.2.1.1', '3.1.10', '3.1.2.4294967295', '19.9', '21', '100.100.100', '4294967295.1', '4294967295'];
    oids.forEach((oid, i) => metrics.define({ name: `m.${i}`, type: i % 3 === 0 ? 'gauge' : i % 3 === 1 ? 'counter' : 'absolute', oid }));
    metrics.define('name=dup,oid=3.1.10');
    metrics.define('name=plain');
    metrics.define('name=alias.g,type=alias,alias=m.0,oid=50');
    metrics.define('name=alias.alias,type=alias,alias=alias.g');
    metrics.histogram('h', [1, 2]);
    // Histograms with an oid answer BASE.oid.1 to .8 too; a metric's own oid wins over a derived one.
    metrics.define('name=pre,oid=40.1');
    metrics.define('name=h.40,type=histogram,buckets=1;2,oid=40'); // its .1 is pre's (defined before)
    metrics.define('name=h.19,type=histogram,buckets=5,oid=19'); // .1 to .8, then m.8 at 19.9
    metrics.define('name=h.3,type=histogram,buckets=5,oid=3.1.2.1'); // between m.4 (3.1.2) and m.5 (3.1.2.1.1)
    metrics.define('name=h.30,type=histogram,buckets=5,oid=30');
    metrics.define('name=h.dup,type=histogram,buckets=5,oid=3.1.10'); // a duplicate oid: a table row, no derived OIDs
    const view = new MetricsMibView(metrics, () => {});
    metrics.define('name=late,oid=20.5'); // while running: a table row only
    metrics.define('name=later,oid=22.1');
    metrics.define('name=late.h,type=histogram,buckets=5,oid=20.6'); // while running, in the table: a table row only
    metrics.define('name=takes.derived,oid=30.4'); // after h.30: it takes h.30's p90 OID
    responder = new SnmpResponder(metrics, view, { community: 'public' }, () => {});

    const set = new Set<string>(ENGINE);
    const list = metrics.list();
    for (const info of list) {
      const index = info.slot + 1;
      let target = info;
      while (target.type === 'alias') target = list.find((m) => m.name === target.alias)!;
      set.add(`${BASE}.20.1.1.${index}`).add(`${BASE}.20.1.2.${index}`).add(`${BASE}.20.1.${target.type === 'gauge' ? 4 : 3}.${index}`);
    }
    for (const info of list) {
      if (!info.oid || info.oid.startsWith('20.') || info.name === 'dup' || info.name === 'h.dup') continue;
      set.add(`${BASE}.${info.oid}`);
      if (info.type === 'histogram') for (let k = 1; k <= 8; k++) set.add(`${BASE}.${info.oid}.${k}`);
    }
    served = [...set].sort(compareDotted);
  });

  afterAll(() => {
    metrics.close();
    fs.rmSync(path, { force: true });
  });

  /** xorshift32, seeded: the same OIDs every run. */
  let state = 0x0ddba11;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>>= 0);
  };
  const pick = <T>(list: readonly T[]) => list[next() % list.length];

  function randomOid(): string {
    const arcs = pick(served).split('.').map(Number);
    switch (next() % 6) {
      case 0:
        return arcs.join('.');
      case 1:
        return arcs.slice(0, 2 + (next() % (arcs.length - 1))).join('.');
      case 2:
        arcs[arcs.length - 1] = Math.min(4294967295, Math.max(0, arcs[arcs.length - 1] + pick([-1, 1])));
        return arcs.join('.');
      case 3:
        return [...arcs, ...Array.from({ length: 1 + (next() % 3) }, () => pick([0, 1, 7, 4294967295]))].join('.');
      case 4:
        arcs[2 + (next() % (arcs.length - 2))] = pick([0, 1, 5, 20, 35156, 4294967295]);
        return arcs.join('.');
      default:
        return [pick([0, 1, 2]), next() % 40, ...Array.from({ length: next() % 10 }, () => next() % 50)].join('.');
    }
  }

  const ask = (tag: number, oid: string) => {
    const answer = responder.respond(request(1, tag, [oid]), 'test');
    if (!answer) throw new Error(`no answer to ${oid}: ${JSON.stringify(responder.stats.dropped)}`);
    return decodeResponse(answer).varbinds[0];
  };

  it('answers a GET exactly for the instances it serves', () => {
    for (let i = 0; i < 20_000; i++) {
      const oid = randomOid();
      const varbind = ask(Tag.GetRequest, oid);
      const exists = served.includes(oid);
      expect(varbind.tag === Tag.NoSuchObject || varbind.tag === Tag.NoSuchInstance, `GET ${oid}`).toBe(!exists);
    }
  });

  it('answers a GETNEXT with the first instance after the OID, endOfMibView after the last', () => {
    for (let i = 0; i < 20_000; i++) {
      const oid = randomOid();
      const varbind = ask(Tag.GetNextRequest, oid);
      const expected = served.find((candidate) => compareDotted(candidate, oid) > 0);
      if (expected === undefined) expect(varbind, `GETNEXT ${oid}`).toEqual({ oid, tag: Tag.EndOfMibView, value: null });
      else expect(varbind.oid, `GETNEXT ${oid}`).toBe(expected);
    }
  });

  it('walks every instance once, in order', () => {
    const walked: string[] = [];
    for (let oid = '1.3'; ; ) {
      const varbind = ask(Tag.GetNextRequest, oid);
      if (varbind.tag === Tag.EndOfMibView) break;
      walked.push((oid = varbind.oid));
    }
    expect(walked).toEqual(served);
  });
});
