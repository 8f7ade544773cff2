/** Hand-made SNMP v1/v2c requests and a decoder for answers, for tests below the tools' level. */
import { BerReader, BerWriter, Tag } from '../../src/snmp/ber';

export interface WireVarbind {
  oid: string;
  tag: number;
  value: number | bigint | string | null;
}

export interface WireResponse {
  version: number;
  community: string;
  tag: number;
  requestId: number;
  errorStatus: number;
  errorIndex: number;
  varbinds: WireVarbind[];
}

const arcs = (oid: string) => oid.replace(/^\./, '').split('.').map(Number);

/** A v1 (version 0) or v2c (1) request; `bulk` gives non-repeaters and max-repetitions. */
export function request(
  version: number,
  tag: number,
  oids: string[],
  options: { community?: string; requestId?: number; nonRepeaters?: number; maxRepetitions?: number } = {},
): Buffer {
  const w = new BerWriter(200_000);
  const message = w.mark();
  const pdu = w.mark();
  const list = w.mark();
  for (let i = oids.length - 1; i >= 0; i--) {
    const varbind = w.mark();
    w.empty(Tag.Null);
    w.oid(arcs(oids[i]));
    w.wrap(Tag.Sequence, varbind);
  }
  w.wrap(Tag.Sequence, list);
  w.int32(options.maxRepetitions ?? 0);
  w.int32(options.nonRepeaters ?? 0);
  w.int32(options.requestId ?? 0x1234);
  w.wrap(tag, pdu);
  w.octets(Buffer.from(options.community ?? 'public'));
  w.int32(version);
  w.wrap(Tag.Sequence, message);
  return w.toBuffer();
}

export function decodeResponse(packet: Buffer): WireResponse {
  const r = new BerReader(packet);
  const end = r.enter(packet.length, Tag.Sequence, 'message');
  const version = r.readInt32(end, 'version');
  const community = r.readOctets(end, 'community').toString('latin1');
  const tag = r.peekTag();
  const pduEnd = r.header(end, tag, 'pdu');
  const requestId = r.readInt32(pduEnd, 'request-id');
  const errorStatus = r.readInt32(pduEnd, 'error-status');
  const errorIndex = r.readInt32(pduEnd, 'error-index');
  const listEnd = r.enter(pduEnd, Tag.Sequence, 'list');
  const varbinds: WireVarbind[] = [];
  while (r.pos < listEnd) {
    const vbEnd = r.enter(listEnd, Tag.Sequence, 'varbind');
    const oid = r.readOid(vbEnd, 'oid').join('.');
    const valueTag = r.peekTag();
    const contentEnd = r.header(vbEnd, valueTag, 'value');
    const bytes = packet.subarray(r.pos, contentEnd);
    r.pos = contentEnd;
    let value: WireVarbind['value'] = null;
    if (valueTag === Tag.OctetString) value = bytes.toString('latin1');
    else if (valueTag === Tag.Integer) value = bytes.length ? bytes.readIntBE(0, bytes.length) : 0;
    else if (valueTag === Tag.Counter64) value = bytes.length ? BigInt(`0x${bytes.toString('hex')}`) : 0n;
    else if (valueTag === Tag.Counter32 || valueTag === Tag.Gauge32) value = bytes.length ? Number(BigInt(`0x${bytes.toString('hex')}`)) : 0;
    varbinds.push({ oid, tag: valueTag, value });
  }
  return { version, community, tag, requestId, errorStatus, errorIndex, varbinds };
}
