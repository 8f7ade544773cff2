/**
 * The only places an int64 metric value becomes an SNMP number. Each returns a value inside its SNMP
 * type's range whatever the input, so an out-of-range Counter32/Gauge32/Counter64 cannot reach the wire.
 */

const UINT32_MAX = 0xffffffffn;

/** counter/absolute in v2c/v3: the 64 bits as unsigned (-1 reads 18446744073709551615, as in uWSGI). */
export function toCounter64(value: bigint): bigint {
  return BigInt.asUintN(64, value);
}

/** counter/absolute in v1, which has no Counter64: the low 32 bits, so it wraps as a Counter32 does. */
export function toCounter32(value: bigint): number {
  return Number(BigInt.asUintN(32, value));
}

/**
 * gauge: Gauge32 clamped to 0..2^32-1. A Gauge32 "latches" at its maximum (RFC 2578 §7.1.7); below 0
 * there is nothing to latch to, so 0. (uWSGI sends the low 32 bits: -2 reads 4294967294.)
 */
export function toGauge32(value: bigint): number {
  if (value <= 0n) return 0;
  return value >= UINT32_MAX ? 0xffffffff : Number(value);
}
