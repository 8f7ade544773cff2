import { describe, expect, it } from 'vitest';
import { BerError, BerReader, BerWriter, Tag } from '../../src/snmp/ber';
import { toCounter32, toCounter64, toGauge32 } from '../../src/snmp/values';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const encode = (write: (w: BerWriter) => void) => {
  const w = new BerWriter(1024);
  write(w);
  return w.toBuffer().toString('hex').replace(/(..)(?!$)/g, '$1 ');
};

describe('BerWriter', () => {
  it('writes INTEGERs in the fewest bytes, sign included', () => {
    const cases: [number, string][] = [
      [0, '02 01 00'],
      [127, '02 01 7f'],
      [128, '02 02 00 80'],
      [0x1234, '02 02 12 34'],
      [-1, '02 01 ff'],
      [-128, '02 01 80'],
      [-129, '02 02 ff 7f'],
      [2147483647, '02 04 7f ff ff ff'],
      [-2147483648, '02 04 80 00 00 00'],
    ];
    for (const [value, bytes] of cases) expect(encode((w) => w.int32(value)), String(value)).toBe(bytes);
  });

  it('writes unsigned types with a zero pad byte when the top bit is set', () => {
    expect(encode((w) => w.uint32(0, Tag.Gauge32))).toBe('42 01 00');
    expect(encode((w) => w.uint32(255, Tag.Counter32))).toBe('41 02 00 ff');
    expect(encode((w) => w.uint32(4294967295, Tag.Gauge32))).toBe('42 05 00 ff ff ff ff');
    expect(encode((w) => w.uint64(12345n))).toBe('46 02 30 39');
    expect(encode((w) => w.uint64(2n ** 64n - 1n))).toBe('46 09 00 ff ff ff ff ff ff ff ff');
  });

  it('refuses out-of-range unsigned values instead of encoding them (no Counter32 >= 2^32, no negative Counter64)', () => {
    expect(() => encode((w) => w.uint32(4294967296, Tag.Counter32))).toThrow(RangeError);
    expect(() => encode((w) => w.uint32(-1, Tag.Gauge32))).toThrow(RangeError);
    expect(() => encode((w) => w.uint32(1.5, Tag.Gauge32))).toThrow(RangeError);
    expect(() => encode((w) => w.uint64(-1n))).toThrow(RangeError);
    expect(() => encode((w) => w.uint64(2n ** 64n))).toThrow(RangeError);
  });

  it('writes OIDs, packing the first two arcs and splitting big arcs in 7-bit groups', () => {
    expect(encode((w) => w.oid([1, 3, 6, 1, 4, 1, 35156, 17, 100, 100, 100]))).toBe('06 0c 2b 06 01 04 01 82 92 54 11 64 64 64');
    expect(encode((w) => w.oid([1, 3, 4294967295]))).toBe('06 06 2b 8f ff ff ff 7f');
    expect(encode((w) => w.oid([2, 999]))).toBe('06 02 88 37');
  });

  it('writes long lengths in the long form', () => {
    const bytes = encode((w) => w.octets(Buffer.alloc(300)));
    expect(bytes.slice(0, 11)).toBe('04 82 01 2c');
  });
});

describe('the SNMP value conversions', () => {
  it('sends counters as the 64 bits unsigned (v2c) or their low 32 bits (v1)', () => {
    expect(toCounter64(-1n)).toBe(2n ** 64n - 1n);
    expect(toCounter64(2n ** 63n - 1n)).toBe(2n ** 63n - 1n);
    expect(toCounter32(2n ** 32n + 12345n)).toBe(12345);
    expect(toCounter32(-1n)).toBe(4294967295);
  });

  it('clamps gauges to 0..2^32-1', () => {
    expect(toGauge32(-2n)).toBe(0);
    expect(toGauge32(-(2n ** 63n))).toBe(0);
    expect(toGauge32(7n)).toBe(7);
    expect(toGauge32(4294967295n)).toBe(4294967295);
    expect(toGauge32(2n ** 32n + 5n)).toBe(4294967295);
  });
});

describe('BerReader', () => {
  it('reads what the writer wrote', () => {
    const w = new BerWriter(256);
    const mark = w.mark();
    w.oid([1, 3, 6, 1, 4, 1, 35156, 17, 4294967295, 0]);
    w.octets(Buffer.from('public'));
    w.int32(-129);
    w.wrap(Tag.Sequence, mark);
    const buffer = w.toBuffer();
    const r = new BerReader(buffer);
    const end = r.enter(buffer.length, Tag.Sequence, 'seq');
    expect(r.readInt32(end, 'int')).toBe(-129);
    expect(r.readOctets(end, 'str').toString()).toBe('public');
    expect(r.readOid(end, 'oid')).toEqual([1, 3, 6, 1, 4, 1, 35156, 17, 4294967295, 0]);
    r.expectEnd(end, 'seq');
  });

  const failures: [string, string, BerError['kind']][] = [
    ['indefinite length', '30 80 02 01 00 00 00', 'bad-length'],
    ['a 5-byte length', '30 85 00 00 00 00 03 02 01 00', 'bad-length'],
    ['a length past the end', '30 84 7f ff ff ff 02 01 00', 'bad-length'],
    ['a length cut off', '30 82 01', 'truncated'],
    ['an element cut off', '30 03 02 01', 'bad-length'],
    ['no length byte', '30', 'truncated'],
    ['a multi-byte tag', '30 03 1f 01 00', 'wrong-tag'],
    ['a wrong tag', '31 03 02 01 00', 'wrong-tag'],
  ];
  for (const [what, bytes, kind] of failures)
    it(`throws BerError(${kind}) on ${what}`, () => {
      const buffer = hex(bytes);
      const r = new BerReader(buffer);
      let error: unknown;
      try {
        const end = r.enter(buffer.length, Tag.Sequence, 'message');
        r.readInt32(end, 'int');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BerError);
      expect((error as BerError).kind).toBe(kind);
    });

  const badContents: [string, string, BerError['kind']][] = [
    ['an empty INTEGER', '02 00', 'bad-integer'],
    ['a 5-byte INTEGER', '02 05 01 00 00 00 00', 'bad-integer'],
    ['an empty OID', '06 00', 'bad-oid'],
    ['an OID arc above 2^32-1', '06 07 2b 90 80 80 80 80 00', 'bad-oid'],
    ['an OID whose last arc is cut off', '06 02 2b 81', 'bad-oid'],
  ];
  for (const [what, bytes, kind] of badContents)
    it(`throws BerError(${kind}) on ${what}`, () => {
      const buffer = hex(bytes);
      const r = new BerReader(buffer);
      let error: unknown;
      try {
        if (buffer[0] === Tag.Integer) r.readInt32(buffer.length, 'x');
        else r.readOid(buffer.length, 'x');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BerError);
      expect((error as BerError).kind).toBe(kind);
    });

  it('refuses an OID of more than 128 arcs', () => {
    const w = new BerWriter(1024);
    w.oid([1, 3, ...Array<number>(127).fill(1)]);
    expect(() => new BerReader(w.toBuffer()).readOid(1024, 'oid')).toThrow(/more than 128/);
  });
});
