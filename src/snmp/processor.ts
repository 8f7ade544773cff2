/**
 * What an agent answers to a request PDU (RFC 3416 §4.2; RFC 1157 §4.1 for v1), against the metrics
 * view. Each value is read with `metrics.getBigInt()` when its varbind is built: O(1) a value, where a
 * `snapshot()` per PDU would copy every value of the region (20 µs at 10,000 metrics) for each step of
 * a walk. A histogram's derived series (BASE.oid.1 to .8) come from one `snapshot()` of that histogram
 * per PDU, taken when the first of them is read.
 */

import { type DerivedSeries, deriveSeries } from '../histogram/derived-series';
import type { HistogramSnapshot } from '../histogram/histogram-snapshot';
import type { MetricInfo, Metrics } from '../metrics';
import { BerWriter, Tag } from './ber';
import { type RequestPdu, type RequestVarbind, type ResponseVarbind, varbindSize } from './message';
import { type MetricsMibView, type MibObject, NO_SUCH_OBJECT, TYPE_CODES } from './mib-view';
import { Column, compareOids } from './oid';
import type { SnmpEngine } from './usm';
import { toCounter32, toCounter64, toGauge32 } from './values';

export const ErrorStatus = {
  noError: 0,
  tooBig: 1,
  noSuchName: 2,
  genErr: 5,
  noCreation: 11,
  authorizationError: 16,
  notWritable: 17,
} as const;

/** snmpEngineMaxMessageSize: the largest UDP payload over IPv4, 65535 - 8 - 20. */
export const MAX_MESSAGE_SIZE = 65507;

export interface Answer {
  errorStatus: number;
  errorIndex: number;
  varbinds: ResponseVarbind[];
}

/** A value that could not be read: v1 reports noSuchName, v2c/v3 put the exception in the varbind. */
type Missing = typeof Tag.NoSuchObject | typeof Tag.NoSuchInstance | typeof Tag.EndOfMibView;

export class PduProcessor {
  private readonly scratch = new BerWriter(4096);
  private readonly engineScalars: readonly EngineScalar[];
  /** This PDU's derived series of each histogram read so far, by name: one snapshot a histogram a PDU. */
  private readonly derivedSeries = new Map<string, readonly DerivedSeries[]>();

  constructor(
    private readonly metrics: Metrics,
    private readonly view: MetricsMibView,
    engine: SnmpEngine,
  ) {
    this.engineScalars = engineScalars(engine);
  }

  /**
   * `v1`: no Counter64 (counters go as Counter32) and errors instead of exceptions. `budget`: the most
   * bytes the varbinds may take in the response.
   */
  answer(pdu: RequestPdu, v1: boolean, budget: number): Answer {
    this.view.refresh();
    this.derivedSeries.clear();
    try {
      switch (pdu.tag) {
        case Tag.GetRequest:
          return this.getOrNext(pdu, v1, budget, false);
        case Tag.GetNextRequest:
          return this.getOrNext(pdu, v1, budget, true);
        case Tag.GetBulkRequest:
          return this.bulk(pdu, budget);
        default:
          return this.set(pdu, v1);
      }
    } finally {
      this.derivedSeries.clear();
    }
  }

  /** Read-only agent: RFC 3416 §4.2.5 notWritable (or noCreation where nothing exists); v1 noSuchName (RFC 3584 §4.4). */
  private set(pdu: RequestPdu, v1: boolean): Answer {
    if (pdu.varbinds.length === 0) return { errorStatus: 0, errorIndex: 0, varbinds: [] };
    const oid = pdu.varbinds[0].oid;
    const exists = typeof this.view.get(oid) === 'object' || this.engineScalars.some((s) => compareOids(s.oid, oid) === 0);
    const errorStatus = v1 ? ErrorStatus.noSuchName : exists ? ErrorStatus.notWritable : ErrorStatus.noCreation;
    return { errorStatus, errorIndex: 1, varbinds: echo(pdu.varbinds) };
  }

  private getOrNext(pdu: RequestPdu, v1: boolean, budget: number, next: boolean): Answer {
    const varbinds: ResponseVarbind[] = [];
    let size = 0;
    for (let i = 0; i < pdu.varbinds.length; i++) {
      const oid = pdu.varbinds[i].oid;
      let varbind: ResponseVarbind | Missing;
      if (next) {
        varbind = this.readNext(oid, v1) ?? Tag.EndOfMibView;
      } else {
        const found = this.view.get(oid);
        const scalar = found === NO_SUCH_OBJECT ? this.engineScalars.find((s) => compareOids(s.oid, oid) === 0) : undefined;
        varbind = scalar
          ? scalar.read()
          : typeof found === 'object'
            ? this.read(found, v1)
            : found === NO_SUCH_OBJECT
              ? Tag.NoSuchObject
              : Tag.NoSuchInstance;
      }
      if (typeof varbind === 'number') {
        if (v1) return { errorStatus: ErrorStatus.noSuchName, errorIndex: i + 1, varbinds: echo(pdu.varbinds) };
        varbind = { oid, tag: varbind };
      }
      size += varbindSize(this.scratch, varbind);
      if (size > budget) return tooBig(pdu, v1);
      varbinds.push(varbind);
    }
    return { errorStatus: 0, errorIndex: 0, varbinds };
  }

  /**
   * RFC 3416 §4.2.3: the first N varbinds once, the others repeated up to M times each. Stops at the
   * byte budget (as many whole varbinds as fit) or once every repeater has reached the end of the view.
   */
  private bulk(pdu: RequestPdu, budget: number): Answer {
    const count = pdu.varbinds.length;
    const nonRepeaters = Math.min(Math.max(pdu.errorStatus, 0), count);
    const maxRepetitions = Math.max(pdu.errorIndex, 0);
    const varbinds: ResponseVarbind[] = [];
    let size = 0;
    const add = (varbind: ResponseVarbind): boolean => {
      size += varbindSize(this.scratch, varbind);
      if (size > budget) return false;
      varbinds.push(varbind);
      return true;
    };
    for (let i = 0; i < nonRepeaters; i++) {
      const oid = pdu.varbinds[i].oid;
      if (!add(this.readNext(oid, false) ?? { oid, tag: Tag.EndOfMibView })) return tooBig(pdu, false);
    }
    const cursors = pdu.varbinds.slice(nonRepeaters).map((varbind) => varbind.oid as readonly number[]);
    const ended = cursors.map(() => false);
    let live = cursors.length;
    for (let repetition = 0; repetition < maxRepetitions && live > 0; repetition++) {
      for (let j = 0; j < cursors.length; j++) {
        let varbind = ended[j] ? undefined : this.readNext(cursors[j], false);
        if (varbind) cursors[j] = varbind.oid;
        else {
          varbind = { oid: cursors[j], tag: Tag.EndOfMibView };
          if (!ended[j]) live--;
          ended[j] = true;
        }
        if (!add(varbind)) return { errorStatus: 0, errorIndex: 0, varbinds };
      }
    }
    return { errorStatus: 0, errorIndex: 0, varbinds };
  }

  /**
   * The instance after `oid`: the metrics first (all under 1.3.6.1.4.1.35156.17), then the snmpEngine
   * scalars (1.3.6.1.6.3.10.2.1), so that a walk of the metrics ends on an OID outside them, cleanly.
   */
  private readNext(oid: readonly number[], v1: boolean): ResponseVarbind | undefined {
    const object = this.view.next(oid);
    if (object) return this.read(object, v1);
    return this.engineScalars.find((s) => compareOids(s.oid, oid) > 0)?.read();
  }

  /** The varbind for an instance, its value read now. */
  private read(object: MibObject, v1: boolean): ResponseVarbind {
    const { oid, info, column } = object;
    if (column === Column.Name) return { oid, tag: Tag.OctetString, value: Buffer.from(info.name, 'latin1') };
    if (column === Column.Type) return { oid, tag: Tag.Integer, value: TYPE_CODES[info.type] };
    // The view only lists value instances whose kind it knows (an unresolvable alias has none).
    if (object.target === undefined) throw new Error(`SNMP view: no value for metric "${info.name}"`);
    // The target's own name: an alias of a histogram reads the histogram's count, not its first bucket.
    const raw = object.derived === 0 ? this.metrics.getBigInt(object.target.name) : this.derivedValue(object.target, object.derived);
    if (object.kind === 'gauge') return { oid, tag: Tag.Gauge32, value: toGauge32(raw) };
    return v1 ? { oid, tag: Tag.Counter32, value: toCounter32(raw) } : { oid, tag: Tag.Counter64, value: toCounter64(raw) };
  }

  /** Series k (from 1) of deriveSeries() of a histogram, from this PDU's snapshot of it. */
  private derivedValue(histogram: MetricInfo, k: number): bigint {
    let series = this.derivedSeries.get(histogram.name);
    if (!series) {
      // Duck-typed, as startSnmpAgent's Metrics: a Histogram from another copy of the package works as well.
      const handle = this.metrics.metric(histogram.name) as { snapshot?: () => HistogramSnapshot };
      if (typeof handle.snapshot !== 'function') throw new Error(`SNMP view: metric "${histogram.name}" is not a histogram`);
      series = deriveSeries(handle.snapshot());
      this.derivedSeries.set(histogram.name, series);
    }
    return series[k - 1].value;
  }
}

interface EngineScalar {
  readonly oid: readonly number[];
  read(): ResponseVarbind;
}

/** SNMP-FRAMEWORK-MIB::snmpEngine (RFC 3411), in OID order. */
function engineScalars(engine: SnmpEngine): EngineScalar[] {
  const scalar = (arc: number, value: () => Omit<ResponseVarbind, 'oid'>): EngineScalar => {
    const oid = [1, 3, 6, 1, 6, 3, 10, 2, 1, arc, 0];
    return { oid, read: () => ({ oid, ...value() }) };
  };
  return [
    scalar(1, () => ({ tag: Tag.OctetString, value: engine.engineId })),
    scalar(2, () => ({ tag: Tag.Integer, value: engine.engineBoots })),
    scalar(3, () => ({ tag: Tag.Integer, value: engine.time() })),
    scalar(4, () => ({ tag: Tag.Integer, value: MAX_MESSAGE_SIZE })),
  ];
}

/** The request's varbinds as received, for error answers. */
export function echo(varbinds: readonly RequestVarbind[]): ResponseVarbind[] {
  return varbinds.map((varbind) => ({ oid: varbind.oid, tag: -1, raw: varbind.raw }));
}

/** RFC 3416 §4.2.1: tooBig with no varbinds; v1 (RFC 1157) echoes the request's. */
function tooBig(pdu: RequestPdu, v1: boolean): Answer {
  return { errorStatus: ErrorStatus.tooBig, errorIndex: 0, varbinds: v1 ? echo(pdu.varbinds) : [] };
}
