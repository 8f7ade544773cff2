/**
 * SNMP messages on the wire: v1/v2c (RFC 1157, RFC 3416) and v3 (RFC 3412, with RFC 3414's USM security
 * parameters), decoded from a datagram and encoded for the answer. Structure only: what a message means
 * is decided in responder.ts.
 */

import { BerError, BerReader, BerWriter, Tag } from './ber';

export const Version = { V1: 0, V2c: 1, V3: 3 } as const;

export interface RequestVarbind {
  readonly oid: number[];
  /** The value element exactly as received, echoed in error responses. */
  readonly raw: Buffer;
}

export interface RequestPdu {
  readonly tag: number;
  readonly requestId: number;
  /** non-repeaters in a GetBulkRequest. */
  readonly errorStatus: number;
  /** max-repetitions in a GetBulkRequest. */
  readonly errorIndex: number;
  readonly varbinds: RequestVarbind[];
}

/** One varbind of an answer: `raw` (an echoed request value) or a value of type `tag`. */
export interface ResponseVarbind {
  readonly oid: readonly number[];
  readonly tag: number;
  readonly value?: number | bigint | Buffer;
  readonly raw?: Buffer;
}

/** The PDU types an agent serves; the others (Response, traps, Inform, Report) are for managers. */
export function isRequestPdu(tag: number): boolean {
  return tag === Tag.GetRequest || tag === Tag.GetNextRequest || tag === Tag.GetBulkRequest || tag === Tag.SetRequest;
}

/** Decodes a request PDU (its tag already checked with isRequestPdu) that must end at `end`. */
export function readPdu(reader: BerReader, end: number): RequestPdu {
  const tag = reader.peekTag();
  const pduEnd = reader.header(end, tag, 'PDU');
  const requestId = reader.readInt32(pduEnd, 'request-id');
  const errorStatus = reader.readInt32(pduEnd, 'error-status');
  const errorIndex = reader.readInt32(pduEnd, 'error-index');
  const listEnd = reader.enter(pduEnd, Tag.Sequence, 'variable-bindings');
  const varbinds: RequestVarbind[] = [];
  while (reader.pos < listEnd) {
    const varbindEnd = reader.enter(listEnd, Tag.Sequence, 'variable-binding');
    const oid = reader.readOid(varbindEnd, 'variable-binding name');
    const start = reader.skip(varbindEnd, 'variable-binding value');
    reader.expectEnd(varbindEnd, 'variable-binding');
    varbinds.push({ oid, raw: reader.buffer.subarray(start, varbindEnd) });
  }
  reader.expectEnd(pduEnd, 'PDU');
  reader.expectEnd(end, 'message');
  return { tag, requestId, errorStatus, errorIndex, varbinds };
}

/** The start of every message: SEQUENCE { version INTEGER, ... }. */
export function readMessageStart(packet: Buffer): { reader: BerReader; end: number; version: number } {
  const reader = new BerReader(packet);
  const end = reader.enter(packet.length, Tag.Sequence, 'message');
  if (end !== packet.length) throw new BerError('trailing-bytes', `message: ${packet.length - end} bytes after it in the datagram`);
  const version = reader.readInt32(end, 'version');
  return { reader, end, version };
}

/** After the version of a v1/v2c message: the community (the PDU follows). */
export function readCommunity(reader: BerReader, end: number): Buffer {
  return reader.readOctets(end, 'community');
}

export function writeVarbind(w: BerWriter, varbind: ResponseVarbind): void {
  const mark = w.mark();
  if (varbind.raw) w.bytes(varbind.raw);
  else
    switch (varbind.tag) {
      case Tag.Integer:
        w.int32(varbind.value as number);
        break;
      case Tag.OctetString:
        w.octets(varbind.value as Buffer);
        break;
      case Tag.Counter32:
      case Tag.Gauge32:
      case Tag.TimeTicks:
        w.uint32(varbind.value as number, varbind.tag);
        break;
      case Tag.Counter64:
        w.uint64(varbind.value as bigint);
        break;
      case Tag.Null:
      case Tag.NoSuchObject:
      case Tag.NoSuchInstance:
      case Tag.EndOfMibView:
        w.empty(varbind.tag);
        break;
      default:
        throw new RangeError(`no encoding for varbind tag ${varbind.tag}`);
    }
  w.oid(varbind.oid);
  w.wrap(Tag.Sequence, mark);
}

/** How many bytes a varbind takes once encoded. */
export function varbindSize(scratch: BerWriter, varbind: ResponseVarbind): number {
  const mark = scratch.mark();
  writeVarbind(scratch, varbind);
  const size = mark - scratch.mark();
  scratch.rewind(mark);
  return size;
}

export function writePdu(
  w: BerWriter,
  tag: number,
  requestId: number,
  errorStatus: number,
  errorIndex: number,
  varbinds: readonly ResponseVarbind[],
): void {
  const pduMark = w.mark();
  const listMark = w.mark();
  for (let i = varbinds.length - 1; i >= 0; i--) writeVarbind(w, varbinds[i]);
  w.wrap(Tag.Sequence, listMark);
  w.int32(errorIndex);
  w.int32(errorStatus);
  w.int32(requestId);
  w.wrap(tag, pduMark);
}

/** Completes a v1/v2c message whose PDU was written since `messageMark` (the writer goes backwards). */
export function writeCommunityHeader(w: BerWriter, messageMark: number, version: number, community: Buffer): void {
  w.octets(community);
  w.int32(version);
  w.wrap(Tag.Sequence, messageMark);
}

/** msgFlags bits (RFC 3412 §6.4). */
export const MsgFlags = { Auth: 0x01, Priv: 0x02, Reportable: 0x04 } as const;
/** The User-based Security Model's number. */
export const USM_SECURITY_MODEL = 3;

export interface V3Message {
  readonly msgId: number;
  readonly maxSize: number;
  readonly flags: number;
  readonly securityModel: number;
  readonly engineId: Buffer;
  readonly engineBoots: number;
  readonly engineTime: number;
  readonly userName: Buffer;
  readonly authParams: Buffer;
  /** Where msgAuthenticationParameters' contents start in the datagram (zeroed to check the MAC). */
  readonly authParamsOffset: number;
  readonly privParams: Buffer;
  /** The ScopedPDU in clear ([start, end) in the datagram), or the encrypted one. */
  readonly plain?: { start: number; end: number };
  readonly encrypted?: Buffer;
}

/** After the version of a v3 message: everything up to the (possibly encrypted) ScopedPDU. */
export function readV3(reader: BerReader, end: number): V3Message {
  const globalEnd = reader.enter(end, Tag.Sequence, 'msgGlobalData');
  const msgId = reader.readInt32(globalEnd, 'msgID');
  const maxSize = reader.readInt32(globalEnd, 'msgMaxSize');
  const flagBytes = reader.readOctets(globalEnd, 'msgFlags');
  if (flagBytes.length !== 1) throw new BerError('bad-length', `msgFlags: ${flagBytes.length} bytes, 1 expected`);
  const securityModel = reader.readInt32(globalEnd, 'msgSecurityModel');
  reader.expectEnd(globalEnd, 'msgGlobalData');

  // msgSecurityParameters: an OCTET STRING whose contents are the USM's own SEQUENCE.
  const paramsEnd = reader.header(end, Tag.OctetString, 'msgSecurityParameters');
  const usmEnd = reader.enter(paramsEnd, Tag.Sequence, 'UsmSecurityParameters');
  const engineId = reader.readOctets(usmEnd, 'msgAuthoritativeEngineID');
  const engineBoots = reader.readInt32(usmEnd, 'msgAuthoritativeEngineBoots');
  const engineTime = reader.readInt32(usmEnd, 'msgAuthoritativeEngineTime');
  const userName = reader.readOctets(usmEnd, 'msgUserName');
  const authParams = reader.readOctets(usmEnd, 'msgAuthenticationParameters');
  const authParamsOffset = authParams.byteOffset - reader.buffer.byteOffset;
  const privParams = reader.readOctets(usmEnd, 'msgPrivacyParameters');
  reader.expectEnd(usmEnd, 'UsmSecurityParameters');
  reader.expectEnd(paramsEnd, 'msgSecurityParameters');

  const common = {
    msgId,
    maxSize,
    flags: flagBytes[0],
    securityModel,
    engineId,
    engineBoots,
    engineTime,
    userName,
    authParams,
    authParamsOffset,
    privParams,
  };
  if (reader.peekTag() === Tag.OctetString) {
    const encrypted = reader.readOctets(end, 'encryptedPDU');
    reader.expectEnd(end, 'message');
    return { ...common, encrypted };
  }
  const start = reader.pos;
  reader.pos = reader.enter(end, Tag.Sequence, 'ScopedPDU');
  reader.expectEnd(end, 'message');
  return { ...common, plain: { start, end } };
}

export interface ScopedPdu {
  readonly contextEngineId: Buffer;
  readonly contextName: Buffer;
  /** Positioned at the PDU; `pduEnd` is where it must end. */
  readonly reader: BerReader;
  readonly pduEnd: number;
}

/**
 * A ScopedPDU in `buffer` from `start`. `lenient`: bytes after it are ignored (a decrypted PDU may carry
 * block padding); otherwise it must end at `end`.
 */
export function readScopedPdu(buffer: Buffer, start: number, end: number, lenient: boolean): ScopedPdu {
  const reader = new BerReader(buffer, start, end);
  const scopedEnd = reader.enter(end, Tag.Sequence, 'ScopedPDU');
  if (!lenient && scopedEnd !== end) throw new BerError('trailing-bytes', `ScopedPDU: ${end - scopedEnd} bytes after it`);
  const contextEngineId = reader.readOctets(scopedEnd, 'contextEngineID');
  const contextName = reader.readOctets(scopedEnd, 'contextName');
  return { contextEngineId, contextName, reader, pduEnd: scopedEnd };
}

export interface V3Header {
  readonly msgId: number;
  readonly maxSize: number;
  readonly flags: number;
  readonly engineId: Buffer;
  readonly engineBoots: number;
  readonly engineTime: number;
  readonly userName: Buffer;
  /** 12 zero bytes to be replaced by the MAC, or empty. */
  readonly authParamsLength: number;
  readonly privParams: Buffer;
}

/**
 * Writes the v3 header in front of msgData (already written since `messageMark`). Returns the absolute
 * position of msgAuthenticationParameters' contents, for the MAC.
 */
export function writeV3Header(w: BerWriter, messageMark: number, header: V3Header): number {
  const paramsMark = w.mark();
  const usmMark = w.mark();
  w.octets(header.privParams);
  const authMark = w.mark();
  w.bytes(Buffer.alloc(header.authParamsLength));
  const authAt = w.mark();
  w.wrap(Tag.OctetString, authMark);
  w.octets(header.userName);
  w.int32(header.engineTime);
  w.int32(header.engineBoots);
  w.octets(header.engineId);
  w.wrap(Tag.Sequence, usmMark);
  w.wrap(Tag.OctetString, paramsMark);

  const globalMark = w.mark();
  w.int32(USM_SECURITY_MODEL);
  w.octets(Buffer.of(header.flags));
  w.int32(header.maxSize);
  w.int32(header.msgId);
  w.wrap(Tag.Sequence, globalMark);
  w.int32(Version.V3);
  w.wrap(Tag.Sequence, messageMark);
  return authAt;
}

/** ScopedPDU { contextEngineID, contextName, PDU }, the PDU being already written since `scopedMark`. */
export function writeScopedHeader(w: BerWriter, scopedMark: number, contextEngineId: Buffer, contextName: Buffer): void {
  w.octets(contextName);
  w.octets(contextEngineId);
  w.wrap(Tag.Sequence, scopedMark);
}
