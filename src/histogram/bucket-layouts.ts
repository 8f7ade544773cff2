/**
 * Bucket upper bounds of a histogram, from the `buckets=` key: an explicit list (`1;5;10;50`) or a
 * generator. Observations and bounds are integers (µs, bytes...), as every value in a region.
 *
 *   linear:START:WIDTH:COUNT         START, START+WIDTH, ... (COUNT bounds)
 *   exponential:START:FACTOR:COUNT   START, START*FACTOR, ... rounded to integers (COUNT bounds)
 *   loglinear:MIN:MAX:SUB            HDR-like: every power-of-two range [2^k, 2^(k+1)) between MIN and MAX
 *                                    split into SUB equal buckets, so a value is known to within a relative
 *                                    error of 1/SUB; below SUB the buckets are 1 wide (exact)
 */

export const MAX_BUCKETS = 1024;

/** The bounds, strictly increasing; throws an Error whose message names the problem (the caller adds the key). */
export function parseBuckets(text: string): number[] {
  const generator = /^(linear|exponential|loglinear):(.*)$/.exec(text);
  const bounds = generator ? generate(generator[1], generator[2].split(':')) : text.split(';').map((b) => integer(b, 'bound'));
  if (bounds.length === 0) throw new Error('no bucket bounds');
  if (bounds.length > MAX_BUCKETS) throw new Error(`${bounds.length} buckets, more than ${MAX_BUCKETS}`);
  for (let i = 1; i < bounds.length; i++)
    if (bounds[i] <= bounds[i - 1]) throw new Error(`bounds must increase: ${bounds[i - 1]} then ${bounds[i]}`);
  return bounds;
}

/** The canonical `buckets=` text: the explicit list. */
export function formatBuckets(bounds: readonly number[]): string {
  return bounds.join(';');
}

function generate(kind: string, params: string[]): number[] {
  if (params.length !== 3) throw new Error(`${kind} takes 3 numbers separated by ':'`);
  if (kind === 'linear') {
    const [start, width, count] = [integer(params[0], 'START'), positive(params[1], 'WIDTH'), countOf(params[2])];
    return Array.from({ length: count }, (_, i) => start + i * width);
  }
  if (kind === 'exponential') {
    const [start, count] = [positive(params[0], 'START'), countOf(params[2])];
    const factor = Number(params[1]);
    if (!(factor > 1) || !Number.isFinite(factor)) throw new Error(`FACTOR ${JSON.stringify(params[1])} must be a number above 1`);
    const bounds: number[] = [];
    for (let i = 0, b = start; i < count; i++, b *= factor) bounds.push(Math.round(b));
    if (!Number.isSafeInteger(bounds[bounds.length - 1])) throw new Error('the last bound is beyond 2^53');
    return bounds;
  }
  const [min, max, sub] = [positive(params[0], 'MIN'), positive(params[1], 'MAX'), positive(params[2], 'SUB')];
  if (max <= min) throw new Error(`MAX ${max} must be above MIN ${min}`);
  const bounds: number[] = [];
  for (let v = min; v < sub && v < max; v++) bounds.push(v);
  for (let power = 2 ** Math.floor(Math.log2(Math.max(min, sub))); ; power *= 2) {
    for (let i = 1; i <= sub; i++) {
      const bound = power + Math.round((i * power) / sub);
      if (bound > (bounds[bounds.length - 1] ?? 0) && bound >= min) bounds.push(bound);
      if (bound >= max || bounds.length > MAX_BUCKETS) return bounds;
    }
  }
}

function integer(text: string, what: string): number {
  if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new Error(`${what} ${JSON.stringify(text)} is not an integer`);
  return Number(text);
}

function positive(text: string, what: string): number {
  const n = integer(text, what);
  if (n < 1) throw new Error(`${what} ${n} must be at least 1`);
  return n;
}

function countOf(text: string): number {
  return positive(text, 'COUNT');
}
