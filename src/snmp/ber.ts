/**
 * The subset of BER (X.690) that SNMP uses: definite lengths, single-byte tags, INTEGER, OCTET STRING,
 * NULL, OBJECT IDENTIFIER, SEQUENCE and the SNMP application types. The reader trusts nothing: every
 * length is checked against its enclosing element before a byte is read, so a hostile packet can only
 * make it throw a BerError, never read out of bounds or loop.
 */

/** Tags SNMP uses (RFC 3416 and RFC 2578). */
export const Tag = {
  Integer: 0x02,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Sequence: 0x30,
  IpAddress: 0x40,
  Counter32: 0x41,
  Gauge32: 0x42,
  TimeTicks: 0x43,
  Opaque: 0x44,
  Counter64: 0x46,
  NoSuchObject: 0x80,
  NoSuchInstance: 0x81,
  EndOfMibView: 0x82,
  GetRequest: 0xa0,
  GetNextRequest: 0xa1,
  Response: 0xa2,
  SetRequest: 0xa3,
  TrapV1: 0xa4,
  GetBulkRequest: 0xa5,
  InformRequest: 0xa6,
  TrapV2: 0xa7,
  Report: 0xa8,
} as const;

/** RFC 2578: an OID has at most 128 sub-identifiers, each 0..2^32-1. */
export const MAX_OID_ARCS = 128;
const MAX_ARC = 0xffffffff;
const MAX_UINT64 = 2n ** 64n - 1n;

/** A packet that is not well-formed BER, or not a valid SNMP message ('invalid'); `kind` names the defect. */
export class BerError extends Error {
  constructor(
    readonly kind: 'truncated' | 'bad-length' | 'wrong-tag' | 'bad-integer' | 'bad-oid' | 'trailing-bytes' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'BerError';
  }
}

const hex = (byte: number): string => `0x${byte.toString(16).padStart(2, '0')}`;

/**
 * Reads elements in order. Each `read*` checks the tag, takes the length, and leaves `pos` after the
 * element; `enter` leaves it at the start of a constructed element's contents and returns their end.
 */
export class BerReader {
  pos: number;

  constructor(
    readonly buffer: Buffer,
    start = 0,
    readonly limit = buffer.length,
  ) {
    this.pos = start;
  }

  get atEnd(): boolean {
    return this.pos >= this.limit;
  }

  peekTag(): number {
    if (this.pos >= this.limit) throw new BerError('truncated', `expected an element at byte ${this.pos}, found the end`);
    return this.buffer[this.pos];
  }

  /** Reads a tag and a length within `end`; returns the contents' end (pos is at their start). */
  header(end: number, expectedTag: number | undefined, what: string): number {
    if (this.pos >= end) throw new BerError('truncated', `${what}: missing (end of its enclosing element at byte ${end})`);
    const tag = this.buffer[this.pos++];
    if (expectedTag !== undefined && tag !== expectedTag)
      throw new BerError('wrong-tag', `${what}: tag ${hex(tag)} where ${hex(expectedTag)} was expected`);
    if ((tag & 0x1f) === 0x1f) throw new BerError('wrong-tag', `${what}: multi-byte tag ${hex(tag)} is not used by SNMP`);
    if (this.pos >= end) throw new BerError('truncated', `${what}: no length byte`);
    let length = this.buffer[this.pos++];
    if (length & 0x80) {
      const count = length & 0x7f;
      // 0x80 is the indefinite form, which SNMP forbids; 4 bytes already allow 4 GiB.
      if (count === 0) throw new BerError('bad-length', `${what}: indefinite length`);
      if (count > 4) throw new BerError('bad-length', `${what}: a ${count}-byte length`);
      if (this.pos + count > end) throw new BerError('truncated', `${what}: length bytes run past the end`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + this.buffer[this.pos++];
    }
    const contentEnd = this.pos + length;
    if (contentEnd > end)
      throw new BerError('bad-length', `${what}: length ${length} runs ${contentEnd - end} bytes past its enclosing element`);
    return contentEnd;
  }

  /** Enters a constructed element (a SEQUENCE or a PDU): returns the end of its contents. */
  enter(end: number, tag: number, what: string): number {
    return this.header(end, tag, what);
  }

  /** An INTEGER that SNMP bounds to 32 bits signed (request-id, error-status, version, msgID...). */
  readInt32(end: number, what: string, tag: number = Tag.Integer): number {
    const contentEnd = this.header(end, tag, what);
    const length = contentEnd - this.pos;
    if (length < 1 || length > 4) throw new BerError('bad-integer', `${what}: a ${length}-byte INTEGER (1 to 4 expected)`);
    const first = this.buffer[this.pos];
    let value = first & 0x80 ? first - 256 : first; // two's complement: the first byte carries the sign
    for (let i = this.pos + 1; i < contentEnd; i++) value = value * 256 + this.buffer[i];
    this.pos = contentEnd;
    return value;
  }

  readOctets(end: number, what: string, tag: number = Tag.OctetString): Buffer {
    const contentEnd = this.header(end, tag, what);
    const bytes = this.buffer.subarray(this.pos, contentEnd);
    this.pos = contentEnd;
    return bytes;
  }

  readOid(end: number, what: string): number[] {
    const contentEnd = this.header(end, Tag.Oid, what);
    const arcs = decodeOidContents(this.buffer, this.pos, contentEnd, what);
    this.pos = contentEnd;
    return arcs;
  }

  /** Skips one element of any type: returns its start (tag byte) so that it can be echoed verbatim. */
  skip(end: number, what: string): number {
    const start = this.pos;
    this.pos = this.header(end, undefined, what);
    return start;
  }

  /** The element must end exactly where its enclosing element does. */
  expectEnd(end: number, what: string): void {
    if (this.pos !== end) throw new BerError('trailing-bytes', `${what}: ${end - this.pos} unexpected bytes at its end`);
  }
}

function decodeOidContents(buffer: Buffer, start: number, end: number, what: string): number[] {
  if (start === end) throw new BerError('bad-oid', `${what}: an empty OBJECT IDENTIFIER`);
  const arcs: number[] = [];
  let value = 0;
  let first = true;
  for (let i = start; i < end; i++) {
    const byte = buffer[i];
    // value * 128 must stay within 32 bits before the next 7 bits come in.
    if (value > (MAX_ARC - 0x7f) / 128) throw new BerError('bad-oid', `${what}: a sub-identifier above ${MAX_ARC}`);
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (first) {
      // The first sub-identifier packs the first two arcs: 40 * X + Y, X in 0..2.
      const x = value < 40 ? 0 : value < 80 ? 1 : 2;
      arcs.push(x, value - 40 * x);
      first = false;
    } else arcs.push(value);
    if (arcs.length > MAX_OID_ARCS) throw new BerError('bad-oid', `${what}: more than ${MAX_OID_ARCS} sub-identifiers`);
    value = 0;
  }
  if (buffer[end - 1] & 0x80) throw new BerError('bad-oid', `${what}: the last sub-identifier is cut off`);
  return arcs;
}

/**
 * Writes BER backwards, from the end of one buffer towards its start, so that every length is known
 * when it is written and the encoding is minimal without a second pass. Wrap a constructed element with
 * `const m = w.mark(); ...write its contents in reverse order...; w.wrap(tag, m)`.
 */
export class BerWriter {
  private buffer: Buffer;
  private pos: number;

  constructor(capacity = 70_000) {
    this.buffer = Buffer.allocUnsafe(capacity);
    this.pos = capacity;
  }

  reset(): void {
    this.pos = this.buffer.length;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.buffer.length - this.pos;
  }

  mark(): number {
    return this.pos;
  }

  /** Forgets everything written since `mark` (used to measure an element). */
  rewind(mark: number): void {
    this.pos = mark;
  }

  /** Overwrites bytes already written at absolute position `at` (a mark): MACs and ciphertext. */
  patch(at: number, bytes: Buffer): void {
    bytes.copy(this.buffer, at);
  }

  /** A copy of everything written (the buffer itself is reused by the next message). */
  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(this.pos));
  }

  /** The bytes written since `mark`, in place (valid until the next write). */
  view(mark: number): Buffer {
    return this.buffer.subarray(this.pos, mark);
  }

  private room(bytes: number): void {
    if (this.pos - bytes < 0) throw new RangeError(`BER writer: message larger than ${this.buffer.length} bytes`);
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[--this.pos] = value;
  }

  bytes(value: Buffer): void {
    this.room(value.length);
    this.pos -= value.length;
    value.copy(this.buffer, this.pos);
  }

  length(length: number): void {
    if (length < 0x80) return this.byte(length);
    let count = 0;
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256), count++) this.byte(rest & 0xff);
    this.byte(0x80 | count);
  }

  /** Closes a constructed element whose contents were written since `mark`. */
  wrap(tag: number, mark: number): void {
    this.length(mark - this.pos);
    this.byte(tag);
  }

  /** A signed 32-bit INTEGER (or another tag with that encoding). */
  int32(value: number, tag: number = Tag.Integer): void {
    const mark = this.pos;
    let rest = value | 0;
    for (;;) {
      this.byte(rest & 0xff);
      const next = rest >> 8;
      // Stop when the remaining bytes are pure sign extension of the byte just written.
      if ((next === 0 && (rest & 0x80) === 0) || (next === -1 && (rest & 0x80) !== 0)) break;
      rest = next;
    }
    this.wrap(tag, mark);
  }

  /** An unsigned value of 0..2^32-1 (Counter32, Gauge32, TimeTicks); see values.ts for the conversions. */
  uint32(value: number, tag: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_ARC) throw new RangeError(`BER writer: ${value} is not a 32-bit unsigned value`);
    const mark = this.pos;
    let rest = value;
    do {
      this.byte(rest % 256);
      rest = Math.floor(rest / 256);
    } while (rest > 0);
    // A leading 1 bit would read as negative: pad with a zero byte.
    if (this.buffer[this.pos] & 0x80) this.byte(0);
    this.wrap(tag, mark);
  }

  /** An unsigned value of 0..2^64-1 (Counter64). */
  uint64(value: bigint, tag: number = Tag.Counter64): void {
    if (value < 0n || value > MAX_UINT64) throw new RangeError(`BER writer: ${value} is not a 64-bit unsigned value`);
    const mark = this.pos;
    let rest = value;
    do {
      this.byte(Number(rest & 0xffn));
      rest >>= 8n;
    } while (rest > 0n);
    if (this.buffer[this.pos] & 0x80) this.byte(0);
    this.wrap(tag, mark);
  }

  octets(value: Buffer, tag: number = Tag.OctetString): void {
    const mark = this.pos;
    this.bytes(value);
    this.wrap(tag, mark);
  }

  empty(tag: number): void {
    this.byte(0);
    this.byte(tag);
  }

  oid(arcs: readonly number[], tag: number = Tag.Oid): void {
    const mark = this.pos;
    for (let i = arcs.length - 1; i >= 2; i--) this.subidentifier(arcs[i]);
    // Callers only write OIDs that start 0.x, 1.x or 2.x with at least two arcs.
    this.subidentifier(arcs[0] * 40 + arcs[1]);
    this.wrap(tag, mark);
  }

  private subidentifier(value: number): void {
    this.byte(value % 128);
    for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) this.byte(0x80 | rest % 128);
  }
}
