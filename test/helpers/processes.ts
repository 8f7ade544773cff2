import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const WORKERS = path.join(ROOT, 'test/multiprocess/workers');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
  /** Resolves with the first stdout line that satisfies `match`. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** Starts `node <script> ...args` as a separate process (not forked from this one's mapping). */
export function startNode(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): Running {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lineWaiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const before = stdout.length;
    stdout += chunk;
    const lines = stdout.slice(stdout.lastIndexOf('\n', before - 1) + 1).split('\n');
    for (const line of lines)
      for (const w of [...lineWaiters])
        if (w.match(line)) {
          lineWaiters.splice(lineWaiters.indexOf(w), 1);
          w.resolve(line);
        }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    done,
    waitForLine(match, timeoutMs = 20_000) {
      const existing = stdout.split('\n').find(match);
      if (existing !== undefined) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching line from ${script} within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        lineWaiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`${script} exited before printing the expected line; stderr: ${stderr}`));
        });
      });
    },
  };
}

/** Runs a worker script (a name under test/multiprocess/workers, or a path) to completion; fails loudly unless it exits 0. */
export async function runWorker(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await startNode(path.resolve(WORKERS, name), args, env).done;
  if (result.code !== 0) throw new Error(`${name} ${args.join(' ')} exited ${result.code ?? result.signal}: ${result.stderr}`);
  return result.stdout;
}
