import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src';
import { SnmpConfigError } from '../../src/snmp';
import { Tag } from '../../src/snmp/ber';
import { MetricsMibView } from '../../src/snmp/mib-view';
import { SnmpResponder } from '../../src/snmp/responder';
import { tempRegionPath } from '../helpers/regions';
import { decodeResponse, request } from './wire';

const BASE = '1.3.6.1.4.1.35156.17';
const opened: Metrics[] = [];

function setup(define: (metrics: Metrics) => void = () => {}) {
  const metrics = Metrics.open({ path: tempRegionPath('snmp-responder') });
  opened.push(metrics);
  define(metrics);
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const responder = new SnmpResponder(metrics, new MetricsMibView(metrics, log), { community: 'public' }, log);
  const ask = (packet: Buffer) => {
    const answer = responder.respond(packet, '127.0.0.1:9');
    return answer && decodeResponse(answer);
  };
  return { metrics, responder, logs, ask };
}

afterEach(() => {
  for (const metrics of opened.splice(0)) metrics.close();
});

describe('SnmpResponder', () => {
  it("answers uWSGI's documented request byte for byte (with a minimal Counter64)", () => {
    const { responder } = setup((m) => m.define('name=hits,oid=100.100.100').inc(12345));
    // The request in uwsgi-metrics.md §5 (community public, request-id 0x1234).
    const uwsgiRequest = '30 2b 02 01 01 04 06 70 75 62 6c 69 63 a0 1e 02 02 12 34 02 01 00 02 01 00 30 12 30 10 06 0c 2b 06 01 04 01 82 92 54 11 64 64 64 05 00';
    const answer = responder.respond(Buffer.from(uwsgiRequest.replace(/ /g, ''), 'hex'), 'test');
    expect(answer?.toString('hex').replace(/(..)(?!$)/g, '$1 ')).toBe(
      '30 2d 02 01 01 04 06 70 75 62 6c 69 63 a2 20 02 02 12 34 02 01 00 02 01 00 30 14 30 12 06 0c 2b 06 01 04 01 82 92 54 11 64 64 64 46 02 30 39',
    );
  });

  it('echoes the request varbinds with noSuchName and the 1-based index in v1 (RFC 1157)', () => {
    const { ask } = setup((m) => m.define('name=hits,oid=1.1'));
    const answer = ask(request(0, Tag.GetRequest, [`${BASE}.1.1`, `${BASE}.1.2`], { requestId: 77 }));
    expect(answer).toEqual({
      version: 0,
      community: 'public',
      tag: Tag.Response,
      requestId: 77,
      errorStatus: 2,
      errorIndex: 2,
      varbinds: [
        { oid: `${BASE}.1.1`, tag: Tag.Null, value: null },
        { oid: `${BASE}.1.2`, tag: Tag.Null, value: null },
      ],
    });
  });

  it('drops GETBULK in v1, Response/Trap/Report PDUs and unknown versions, counting each', () => {
    const { ask, responder } = setup();
    expect(ask(request(0, Tag.GetBulkRequest, [BASE]))).toBeUndefined();
    expect(ask(request(1, Tag.Response, [BASE]))).toBeUndefined();
    expect(ask(request(1, Tag.TrapV2, [BASE]))).toBeUndefined();
    expect(ask(request(1, Tag.Report, [BASE]))).toBeUndefined();
    expect(ask(request(2, Tag.GetRequest, [BASE]))).toBeUndefined();
    expect(ask(request(1, Tag.GetRequest, [BASE], { community: 'Public' }))).toBeUndefined();
    expect(responder.stats.dropped).toMatchObject({ 'unsupported-pdu': 4, 'unsupported-version': 1, 'wrong-community': 1 });
    expect(responder.stats.answered).toBe(0);
  });

  it('logs each kind of dropped packet once', () => {
    const { responder, logs } = setup();
    for (let i = 0; i < 5; i++) responder.respond(Buffer.from([0x30, 0x03, 0x02, 0x01]), `10.0.0.${i}:161`);
    expect(responder.stats.dropped.malformed).toBe(5);
    expect(logs).toEqual([
      'SNMP: dropped a packet from 10.0.0.0:161: malformed (bad-length: message: length 3 runs 1 bytes past its enclosing element); further ones are only counted',
    ]);
  });

  it('answers tooBig with no varbinds when the answer would not fit in a datagram (RFC 3416 §4.2.1)', () => {
    const { ask } = setup((m) => {
      for (let i = 0; i < 700; i++) m.define(`name=${'n'.repeat(110)}.${i}`);
    });
    const oids = Array.from({ length: 700 }, (_, i) => `${BASE}.20.1.1.${i + 1}`);
    const answer = ask(request(1, Tag.GetRequest, oids))!;
    expect({ errorStatus: answer.errorStatus, errorIndex: answer.errorIndex, varbinds: answer.varbinds }).toEqual({
      errorStatus: 1,
      errorIndex: 0,
      varbinds: [],
    });
  });

  it('fills a GETBULK with max-repetitions 2^31-1 up to the datagram size, not beyond', () => {
    const { responder } = setup((m) => {
      for (let i = 0; i < 3000; i++) m.define(`name=metric.number.${i}`);
    });
    const packet = responder.respond(request(1, Tag.GetBulkRequest, [BASE], { nonRepeaters: -5, maxRepetitions: 2147483647 }), 'test')!;
    expect(packet.length).toBeLessThanOrEqual(65507);
    expect(packet.length).toBeGreaterThan(60000);
    const answer = decodeResponse(packet);
    expect(answer.errorStatus).toBe(0);
    expect(answer.varbinds[0]).toEqual({ oid: `${BASE}.20.1.1.1`, tag: Tag.OctetString, value: 'metric.number.0' });
  });

  it('stops a GETBULK after the row where every repeater reached the end of the view', () => {
    const { ask } = setup((m) => m.define('name=only'));
    const answer = ask(request(1, Tag.GetBulkRequest, ['1.3.6.1.6.3.10.2.1.3.0', '1.3.6.1.6.3.10.2.1.4.0'], { maxRepetitions: 100 }))!;
    expect(answer.varbinds.map((v) => [v.oid, v.tag])).toEqual([
      ['1.3.6.1.6.3.10.2.1.4.0', Tag.Integer],
      ['1.3.6.1.6.3.10.2.1.4.0', Tag.EndOfMibView],
      ['1.3.6.1.6.3.10.2.1.4.0', Tag.EndOfMibView],
      ['1.3.6.1.6.3.10.2.1.4.0', Tag.EndOfMibView],
    ]);
  });

  it('answers genErr instead of timing out when the metrics can no longer be read', () => {
    const { ask, metrics, logs } = setup((m) => m.define('name=hits,oid=1'));
    metrics.close();
    const answer = ask(request(1, Tag.GetRequest, [`${BASE}.1`]))!;
    expect([answer.errorStatus, answer.varbinds.length]).toEqual([5, 1]);
    expect(logs.some((line) => line.startsWith('SNMP: answered genErr:') && line.includes('was closed'))).toBe(true);
  });

  it('orders GETNEXT by arcs: an oid before the oids it prefixes, and past the last table index', () => {
    const { ask } = setup((m) => {
      m.define('name=b,oid=3.1.2.1.1');
      m.define('name=a,oid=3.1.2');
      m.define('name=c,oid=3.1.10');
    });
    const next = (oid: string) => ask(request(1, Tag.GetNextRequest, [oid]))!.varbinds[0].oid;
    expect(next(`${BASE}.3`)).toBe(`${BASE}.3.1.2`);
    expect(next(`${BASE}.3.1.2`)).toBe(`${BASE}.3.1.2.1.1`);
    expect(next(`${BASE}.3.1.2.1.1`)).toBe(`${BASE}.3.1.10`);
    expect(next(`${BASE}.3.1.10`)).toBe(`${BASE}.20.1.1.1`);
    expect(next(`${BASE}.20.1.1.3`)).toBe(`${BASE}.20.1.2.1`);
    expect(next(`${BASE}.20.1.1.4294967295`)).toBe(`${BASE}.20.1.2.1`);
    expect(next(`${BASE}.20.1.3.3.99`)).toBe('1.3.6.1.6.3.10.2.1.1.0');
    expect(next(`${BASE}.20.0`)).toBe(`${BASE}.20.1.1.1`);
  });
});

describe('metrics whose oid starts with 20 (the table)', () => {
  it('refuse to start the agent, naming the metric', () => {
    const metrics = Metrics.open({ path: tempRegionPath('snmp-shadow') });
    opened.push(metrics);
    metrics.define('name=fine,oid=19.1');
    metrics.define('name=shadow,oid=20.1.1.1');
    expect(() => new MetricsMibView(metrics, () => {})).toThrow(SnmpConfigError);
    expect(() => new MetricsMibView(metrics, () => {})).toThrow(
      'invalid SNMP metric oid "20.1.1.1": 1.3.6.1.4.1.35156.17.20 is the metrics table, so oids starting with 20 are reserved for it; give "shadow" another oid',
    );
  });

  it('are skipped with a log line when defined while the agent runs; their row stays', () => {
    const { ask, metrics, logs } = setup((m) => m.define('name=first').inc(1));
    metrics.define('name=late,oid=20.1.1.1').inc(5);
    expect(ask(request(1, Tag.GetRequest, [`${BASE}.20.1.1.1`, `${BASE}.20.1.3.2`]))!.varbinds).toEqual([
      { oid: `${BASE}.20.1.1.1`, tag: Tag.OctetString, value: 'first' },
      { oid: `${BASE}.20.1.3.2`, tag: Tag.Counter64, value: 5n },
    ]);
    expect(logs).toEqual([
      'SNMP: metric "late" has oid=20.1.1.1, inside the metrics table (1.3.6.1.4.1.35156.17.20); it is only reachable as a table row (index 2)',
    ]);
  });
});
