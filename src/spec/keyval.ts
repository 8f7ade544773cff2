/**
 * The uWSGI keyval tokenizer shared by `--metric`, thresholds and `--stats-push`: `key=value` items
 * separated by `,`, a backslash escapes the next character, and only the first unescaped `=` of an
 * item splits it. It knows nothing about the keys; callers decide what is allowed.
 */

export interface KeyvalItem {
  key: string;
  /** undefined for a bare word (an item with no unescaped `=`). */
  value: string | undefined;
}

/**
 * Splits `text` into items, in order, keeping empty and duplicate items for the caller to judge.
 * An empty text is no items. Throws SyntaxError for a trailing backslash that escapes nothing.
 */
export function parseKeyval(text: string): KeyvalItem[] {
  if (text === '') return [];
  const items: KeyvalItem[] = [];
  let key = '';
  let value: string | undefined;
  for (let i = 0; i < text.length; i++) {
    let char = text[i];
    if (char === '\\') {
      if (i + 1 === text.length) {
        throw new SyntaxError(`trailing backslash at the end of ${JSON.stringify(text)} escapes nothing`);
      }
      char = text[++i];
    } else if (char === ',') {
      items.push({ key, value });
      key = '';
      value = undefined;
      continue;
    } else if (char === '=' && value === undefined) {
      value = '';
      continue;
    }
    if (value === undefined) key += char;
    else value += char;
  }
  items.push({ key, value });
  return items;
}

/**
 * The text that parseKeyval turns back into `items`. The one list without a text form is a single
 * empty bare item, which formats as '' (no items).
 */
export function formatKeyval(items: readonly KeyvalItem[]): string {
  return items
    .map(({ key, value }) => (value === undefined ? escape(key) : `${escape(key)}=${escape(value)}`))
    .join(',');
}

function escape(text: string): string {
  return text.replace(/[\\,=]/g, '\\$&');
}
