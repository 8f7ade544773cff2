/**
 * The CLI's argument parser: GNU-style long options (`--region PATH`, `--region=PATH`), short flags
 * (`-h`), positionals, and `--`. Small on purpose; every mistake is a UsageError naming the argument.
 */

import { ShmetricsError } from '../errors';

/** A mistake on the command line. The CLI prints its message as one line and exits 2. */
export class UsageError extends ShmetricsError {}

export interface OptionSpec {
  /** Long name, without the dashes. */
  readonly name: string;
  readonly short?: string;
  /** What the value is called in the help ('PATH'); absent for a flag. */
  readonly value?: string;
  /** May be given more than once (each value kept, in order); otherwise a repeat is an error. */
  readonly repeatable?: boolean;
  readonly help: string;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  /**
   * What follows `--`, verbatim; undefined when there is no `--`. Commands take it as more positionals;
   * the master mode (`shmetrics --metric SPEC -- command`) will take it as the command to run.
   */
  readonly rest?: readonly string[];
  /** Values of the options given, by long name; a flag has the value ''. */
  readonly options: ReadonlyMap<string, readonly string[]>;
}

/**
 * An option is `--word...` or `-letter`; anything else is a positional, so that `set x -5` works and a
 * negative number never has to be written after `--`.
 */
function isOption(arg: string): boolean {
  return /^--[^-]/.test(arg) || /^-[A-Za-z]/.test(arg);
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { positionals, rest: argv.slice(i + 1), options };
    if (!isOption(arg)) {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const eq = long ? arg.indexOf('=') : -1;
    const word = eq >= 0 ? arg.slice(2, eq) : arg.slice(long ? 2 : 1);
    const spec = specs.find((s) => (long ? s.name === word : s.short === word));
    if (!spec) {
      // Metric names may start with '-': say how to pass one.
      const hint = long ? '' : `; an argument starting with - goes after --: -- ${arg}`;
      throw new UsageError(`unknown option ${long ? '--' : '-'}${word} (see shmetrics --help${hint})`);
    }
    const shown = `--${spec.name}`;
    let value = '';
    if (spec.value === undefined) {
      if (eq >= 0) throw new UsageError(`option ${shown} takes no value (got ${JSON.stringify(arg.slice(eq + 1))})`);
    } else {
      const next = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (next === undefined || next === '') throw new UsageError(`option ${shown} needs a value: ${shown} ${spec.value}`);
      value = next;
    }
    const seen = options.get(spec.name);
    if (seen && !spec.repeatable) throw new UsageError(`option ${shown} given more than once`);
    options.set(spec.name, [...(seen ?? []), value]);
  }
  return { positionals, options };
}

/** The last value of option `name`, or undefined when it was not given. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.at(-1);
}

export function hasFlag(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A base-10 int64 argument; `what` names it in the error ('VALUE', 'DELTA'). */
export function parseInt64(text: string, what: string): bigint {
  if (!/^-?[0-9]+$/.test(text)) throw new UsageError(`${what} ${JSON.stringify(text)} is not a base-10 integer`);
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX) {
    throw new UsageError(`${what} ${JSON.stringify(text)} is outside the int64 range ${INT64_MIN}..${INT64_MAX}`);
  }
  return n;
}
