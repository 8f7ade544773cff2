#!/usr/bin/env node
/**
 * `shmetrics <command> [args] [--region PATH]`: inspect and update a region from the shell.
 *
 * Commands come from the COMMANDS table and options from GLOBAL_OPTIONS plus each command's own; a new
 * mode (such as the master mode, `shmetrics --metric SPEC -- program`) joins by adding to those tables.
 * Any error is one line `shmetrics: <message>` on stderr and exit status 2.
 */

import fs from 'node:fs';
import path from 'node:path';
import { UnknownMetricError } from '../errors';
import { Metrics } from '../metrics';
import { hasFlag, optionValue, parseArgs, UsageError, type OptionSpec, type ParsedArgs } from './args';
import { COMMANDS, type Command, type CommandContext } from './commands';
import { MASTER_ARG_SPECS, MASTER_OPTIONS, resolveMasterConfig } from '../master/options';
import { runMaster } from '../master/master';

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'region', value: 'PATH', help: 'the region file (default: $SHMETRICS_REGION); this tool never creates one' },
  { name: 'allow-foreign-owner', help: 'accept a region file owned by another user (refused by default)' },
  { name: 'help', short: 'h', help: 'print this help' },
  { name: 'version', help: 'print the version' },
];

const ALL_OPTIONS: readonly OptionSpec[] = [
  ...GLOBAL_OPTIONS,
  ...new Set(COMMANDS.flatMap((command) => command.options ?? [])),
];

/** Exit status of every error: usage, region, spec, unknown metric. */
const EXIT_ERROR = 2;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/** Runs one command line (without `node` and the script); returns the exit status. */
export function main(argv: readonly string[], io: CliIo = processIo): number {
  let opened: Metrics | undefined;
  let regionPath: string | undefined;
  try {
    const args = parseArgs(argv, ALL_OPTIONS);
    if (hasFlag(args, 'help')) {
      io.out(usage());
      return 0;
    }
    if (hasFlag(args, 'version')) {
      io.out(`shmetrics ${packageVersion()}\n`);
      return 0;
    }
    const [name, ...params] = [...args.positionals, ...(args.rest ?? [])];
    if (name === undefined) throw new UsageError('no command given (see shmetrics --help)');
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (see shmetrics --help)`);
    checkInvocation(command, params, args);
    regionPath = optionValue(args, 'region') ?? io.env.SHMETRICS_REGION;
    const context: CommandContext = {
      metrics() {
        if (!regionPath) throw new UsageError('no region: pass --region PATH or set SHMETRICS_REGION');
        opened ??= Metrics.open({ path: regionPath, create: false, allowForeignOwner: hasFlag(args, 'allow-foreign-owner') });
        return opened;
      },
      has: (option) => hasFlag(args, option),
      print: (line) => io.out(`${line}\n`),
      printUsage: () => io.out(usage()),
    };
    command.run(params, context);
    return 0;
  } catch (error) {
    io.err(`shmetrics: ${describeError(error, regionPath)}\n`);
    return EXIT_ERROR;
  } finally {
    opened?.close();
  }
}

/**
 * `shmetrics [options] [-- program args...]` is the master: a command line with a master-only option or a
 * `--` before any command word. Anything else is a command (`shmetrics get x`), so that a mistyped
 * command is reported as such.
 */
export function isMasterInvocation(argv: readonly string[]): boolean {
  const specs = [...ALL_OPTIONS, ...MASTER_ARG_SPECS];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return true;
    if (!arg.startsWith('-')) return false;
    const word = arg.replace(/^--?/, '').split('=')[0];
    if (!ALL_OPTIONS.some((s) => s.name === word) && MASTER_ARG_SPECS.some((s) => s.name === word)) return true;
    if (!arg.includes('=') && specs.find((s) => s.name === word || s.short === word)?.value !== undefined) i++;
  }
  return false;
}

/** Runs the master until it is stopped; resolves with the exit status (2 for any error before it starts). */
export async function masterMain(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    const config = resolveMasterConfig(argv, io.env);
    return await runMaster(config);
  } catch (error) {
    io.err(`shmetrics: ${describeError(error, undefined)}\n`);
    return EXIT_ERROR;
  }
}

/** The arity and the options of one invocation, checked before the command runs. */
function checkInvocation(command: Command, params: readonly string[], args: ParsedArgs): void {
  const required = command.params.filter((p) => !p.startsWith('[')).length;
  const synopsis = `usage: shmetrics ${commandSynopsis(command)}`;
  if (params.length < required) throw new UsageError(`${command.name}: missing ${command.params[params.length]} (${synopsis})`);
  if (params.length > command.params.length) {
    throw new UsageError(`${command.name}: unexpected argument ${JSON.stringify(params[command.params.length])} (${synopsis})`);
  }
  for (const option of args.options.keys()) {
    const applies = GLOBAL_OPTIONS.some((o) => o.name === option) || command.options?.some((o) => o.name === option);
    if (!applies) throw new UsageError(`option --${option} does not apply to ${command.name} (${synopsis})`);
  }
}

/** One line, whatever was thrown: the CLI never shows a stack trace. */
function describeError(error: unknown, regionPath: string | undefined): string {
  let message: string;
  if (error instanceof UnknownMetricError) message = `unknown metric ${JSON.stringify(error.metric)} in ${regionPath}`;
  else if (error instanceof Error) message = error.message;
  else message = String(error);
  return message.replace(/\s*\n\s*/g, ' ');
}

function commandSynopsis(command: Command): string {
  return [command.name, ...(command.options ?? []).map((o) => `[--${o.name}]`), ...command.params].join(' ');
}

function usage(): string {
  const table = (rows: [string, string][]): string[] => {
    const width = Math.max(...rows.map(([left]) => left.length)) + 2;
    return rows.map(([left, help]) => `  ${left.padEnd(width)}${help.replace(/\n/g, `\n  ${' '.repeat(width)}`)}`);
  };
  const commands = table(COMMANDS.map((c) => [commandSynopsis(c), c.summary]));
  const options = table(
    ALL_OPTIONS.map((o) => [[o.short && `-${o.short}`, `--${o.name}${o.value ? ` ${o.value}` : ''}`].filter(Boolean).join(', '), o.help]),
  );
  const master = table(
    MASTER_OPTIONS.map((o) => [
      `--${o.name}${o.value ? ` ${o.value}` : ''}`,
      o.also ? `${o.help} (also ${o.also.map((a) => `--${a}`).join(', ')})` : o.help,
    ]),
  );
  return [
    'Usage: shmetrics [master options] [-- program [args...]]',
    '       shmetrics <command> [arguments] [--region PATH]',
    '',
    'The master creates a region, collects it, keeps the metrics-dir, and runs the program in N workers',
    '(SHMETRICS_REGION and SHMETRICS_WORKER_ID set for each), restarting any that dies. Without a program',
    'it is a metrics daemon. SIGTERM/SIGINT stop it gracefully; SIGHUP restarts the workers, keeping every',
    'metric. Options also come from SHMETRICS_<OPTION> variables (SHMETRICS_METRICS_DIR=...; one value per',
    'line for repeatable ones) and from --ini FILE; the command line wins over the environment, which wins',
    'over the ini file; repeatable options collect the values of all three.',
    '',
    'Master options:',
    ...master,
    '',
    'The commands read and update the metrics of a region (a file, usually under /dev/shm).',
    '',
    'Commands:',
    ...commands,
    '',
    'Options (also written --option=VALUE):',
    ...options,
    '',
    'VALUE and DELTA are base-10 int64 integers; a negative one may be written as is (set x -5).',
    'Arguments after -- are never options: shmetrics get -- -name.',
    'Exit status: 0 on success; 2 on any error, reported as one line "shmetrics: <message>" on stderr.',
    '',
  ].join('\n');
}

function packageVersion(): string {
  // dist/cli/main.js and src/cli/main.ts are both two levels below the package root.
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

if (require.main === module) {
  // `shmetrics ls | head -1`: the reader leaving is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  const argv = process.argv.slice(2);
  if (isMasterInvocation(argv)) void masterMain(argv).then((code) => (process.exitCode = code));
  else process.exitCode = main(argv);
}
