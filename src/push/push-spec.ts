/**
 * The `--stats-push NAME:ARGS` spec, split as uWSGI splits it: the pusher's name ends at the first `:`, and
 * ARGS is all the rest. ARGS are the pusher's comma-separated items (keyval syntax: `\` escapes, the first
 * `=` splits a key from its value); the scheduler's own keys `freq=N`, `allow=P1;P2` and `forbid=P1;P2` may
 * appear among them and are taken out before the pusher sees the rest.
 */

import { PushSpecError } from '../errors';
import { formatKeyval, parseKeyval, type KeyvalItem } from '../spec/keyval';
import type { PusherFactory } from './pusher';
import { PUSHERS, type PusherName } from './pushers';

export interface PushSpec {
  /** A name in the PUSHERS table. */
  pusher: PusherName;
  /** What the pusher's factory gets: ARGS without the scheduler's keys, in keyval syntax. */
  args: string;
  /** Seconds between pushes; undefined: the scheduler's default (--stats-pusher-default-freq). */
  freq?: number;
  /** Name prefixes a metric must start with to be pushed (any of them); empty: every metric. */
  allow: string[];
  /** Name prefixes that keep a metric from being pushed; they win over `allow`. */
  forbid: string[];
}

/** The API form of a spec: a pusher of the table by name, or your own factory with a `name`. */
export interface PushSpecInput {
  pusher: PusherName | PusherFactory;
  /** For your own factory: the instance name, used in logs and in shmetrics.push.<name>.dropped. */
  name?: string;
  args?: string;
  freq?: number;
  allow?: readonly string[];
  forbid?: readonly string[];
}

// uWSGI keeps frequencies in a uint32_t of seconds.
const MAX_FREQ_SECONDS = 4294967295;
const SCHEDULER_KEYS = ['freq', 'allow', 'forbid'];
const q = (text: string): string => JSON.stringify(text);

export function knownPushers(): string[] {
  return Object.keys(PUSHERS);
}

export function isPusherName(name: string): name is PusherName {
  return Object.hasOwn(PUSHERS, name);
}

/** Parses `NAME:ARGS` (or a bare `NAME`). Throws PushSpecError naming the bad part. */
export function parsePushSpec(spec: string): PushSpec {
  if (typeof spec !== 'string') throw new TypeError(`a stats pusher spec is a string, not ${typeof spec}`);
  const colon = spec.indexOf(':');
  const name = colon === -1 ? spec : spec.slice(0, colon);
  const rest = colon === -1 ? '' : spec.slice(colon + 1);
  if (!isPusherName(name)) throw new PushSpecError(spec, unknownPusher(name));
  let items: KeyvalItem[];
  try {
    items = parseKeyval(rest);
  } catch (error) {
    throw new PushSpecError(spec, (error as Error).message);
  }
  const parsed: PushSpec = { pusher: name, args: '', allow: [], forbid: [] };
  const kept: KeyvalItem[] = [];
  for (const item of items) {
    if (item.value === undefined || !SCHEDULER_KEYS.includes(item.key)) {
      kept.push(item);
      continue;
    }
    if (item.key === 'freq') {
      if (parsed.freq !== undefined) throw new PushSpecError(spec, 'freq is given twice');
      parsed.freq = parseFreq(spec, item.value);
    } else {
      parsed[item.key as 'allow' | 'forbid'].push(...parsePrefixes(spec, item.key, item.value));
    }
  }
  parsed.args = formatKeyval(kept);
  return parsed;
}

/** A spec of the API form whose pusher is the caller's own factory. */
export interface CustomPushSpec extends Omit<PushSpec, 'pusher'> {
  pusher: PusherFactory;
  name: string;
}

/** The object form, checked like the text form; `spec` in errors is the text form of the input. */
export function normalizePushSpec(input: PushSpecInput): PushSpec | CustomPushSpec {
  if (input === null || typeof input !== 'object')
    throw new TypeError('a stats pusher is a spec string or an object { pusher, args, freq, allow, forbid }');
  const spec = formatPushSpec(input);
  const { pusher, name, args = '', freq, allow = [], forbid = [] } = input;
  if (typeof args !== 'string') throw new PushSpecError(spec, `args must be a string, not ${typeof args}`);
  if (freq !== undefined && (typeof freq !== 'number' || !(freq > 0) || freq > MAX_FREQ_SECONDS))
    throw new PushSpecError(spec, `freq must be a number of seconds > 0 and <= ${MAX_FREQ_SECONDS}, not ${String(freq)}`);
  const common = { args, freq, allow: checkPrefixList(spec, 'allow', allow), forbid: checkPrefixList(spec, 'forbid', forbid) };
  if (freq === undefined) delete common.freq;
  if (typeof pusher === 'function') {
    if (typeof name !== 'string' || !/^[0-9A-Za-z_-]+$/.test(name))
      throw new PushSpecError(
        spec,
        `a pusher given as a factory needs a name of letters, digits, _ and - (got ${name === undefined ? 'none' : q(String(name))})`,
      );
    return { ...common, pusher, name };
  }
  if (typeof pusher !== 'string' || !isPusherName(pusher)) throw new PushSpecError(spec, unknownPusher(String(pusher)));
  if (name !== undefined)
    throw new PushSpecError(spec, `name is only for a pusher given as a factory; "${pusher}" instances are named by the scheduler`);
  return { ...common, pusher };
}

/** The `NAME:ARGS` text of a spec (generic keys appended), for messages. */
export function formatPushSpec(input: PushSpecInput | PushSpec): string {
  const name = typeof input.pusher === 'function' ? ((input as PushSpecInput).name ?? 'factory') : String(input.pusher);
  const items: KeyvalItem[] = input.args ? parseKeyvalLoosely(input.args) : [];
  if (input.freq !== undefined) items.push({ key: 'freq', value: String(input.freq) });
  if (Array.isArray(input.allow) && input.allow.length > 0) items.push({ key: 'allow', value: input.allow.join(';') });
  if (Array.isArray(input.forbid) && input.forbid.length > 0) items.push({ key: 'forbid', value: input.forbid.join(';') });
  return items.length > 0 ? `${name}:${formatKeyval(items)}` : name;
}

/** Whether `name` passes a spec's allow/forbid prefixes. */
export function passesFilters(name: string, allow: readonly string[], forbid: readonly string[]): boolean {
  if (allow.length > 0 && !allow.some((prefix) => name.startsWith(prefix))) return false;
  return !forbid.some((prefix) => name.startsWith(prefix));
}

function unknownPusher(name: string): string {
  return `unknown pusher ${q(name)} (known: ${knownPushers().join(', ')})`;
}

function parseFreq(spec: string, text: string): number {
  const freq = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(freq > 0) || freq > MAX_FREQ_SECONDS)
    throw new PushSpecError(spec, `freq ${q(text)} must be a number of seconds > 0 and <= ${MAX_FREQ_SECONDS}`);
  return freq;
}

function parsePrefixes(spec: string, key: string, text: string): string[] {
  const prefixes = text.split(';');
  if (prefixes.some((prefix) => prefix === ''))
    throw new PushSpecError(spec, `${key} ${q(text)}: empty prefix (separate name prefixes with ";", as in ${key}=worker.;core.)`);
  return prefixes;
}

function checkPrefixList(spec: string, key: string, list: unknown): string[] {
  if (!Array.isArray(list) || list.some((prefix) => typeof prefix !== 'string' || prefix === ''))
    throw new PushSpecError(spec, `${key} must be an array of non-empty name prefixes`);
  return [...list] as string[];
}

function parseKeyvalLoosely(text: string): KeyvalItem[] {
  try {
    return parseKeyval(text);
  } catch {
    return [{ key: text, value: undefined }];
  }
}
