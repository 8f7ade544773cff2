import { UsageError } from '../cli/args';

export interface IniEntry {
  key: string;
  /** '' for a bare key (a flag). */
  value: string;
  line: number;
}

/**
 * The `[shmetrics]` section of an ini file, uWSGI style: `key = value` or `key=value` lines, repeated
 * keys kept in order, a bare `key` for a flag, `;` or `#` comment lines. Other sections are ignored (the
 * file may configure other programs too).
 */
export function parseIni(text: string, file: string): IniEntry[] {
  const entries: IniEntry[] = [];
  let section: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[([^\]]*)\]$/.exec(line);
    if (header) {
      section = header[1].trim();
      continue;
    }
    if (line.startsWith('[')) throw new UsageError(`${file}:${i + 1}: malformed section header ${JSON.stringify(line)}`);
    if (section !== 'shmetrics') continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (!/^[a-z][a-z0-9-]*$/.test(key)) throw new UsageError(`${file}:${i + 1}: ${JSON.stringify(key)} is not an option name`);
    entries.push({ key, value, line: i + 1 });
  }
  return entries;
}
