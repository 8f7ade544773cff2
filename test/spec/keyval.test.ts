import { describe, expect, it } from 'vitest';
import { formatKeyval, KeyvalItem, parseKeyval } from '../../src/spec/keyval';

const item = (key: string, value?: string): KeyvalItem => ({ key, value });

describe('parseKeyval', () => {
  it.each<[string, string, KeyvalItem[]]>([
    ['splits items on commas and key from value on "="', 'a=1,b=2', [item('a', '1'), item('b', '2')]],
    ['reads an item without "=" as a bare word', 'word', [item('word')]],
    ['reads "key=" as an empty value, not a bare word', 'a=', [item('a', '')]],
    ['splits only at the first "="', 'a=b=c', [item('a', 'b=c')]],
    ['keeps an escaped "=" in the key', 'a\\=b=c', [item('a=b', 'c')]],
    ['keeps an escaped comma in the value (msg style)', 'msg=too high\\, really,rate=4', [item('msg', 'too high, really'), item('rate', '4')]],
    ['reads "\\\\" as one literal backslash', 'path=C:\\\\dir', [item('path', 'C:\\dir')]],
    ['reads an escaped ordinary character as itself', '\\x=\\y', [item('x', 'y')]],
    ['keeps an empty item between two commas', 'a,,b', [item('a'), item(''), item('b')]],
    ['reads a lone comma as two empty items', ',', [item(''), item('')]],
    ['reads "=v" as an empty key with a value', '=v', [item('', 'v')]],
    ['keeps duplicate keys in order', 'a=1,a=2', [item('a', '1'), item('a', '2')]],
    ['keeps spaces around keys and values', ' a = 1 ', [item(' a ', ' 1 ')]],
    ['reads the empty text as no items', '', []],
  ])('%s', (_behaviour, text, expected) => {
    expect(parseKeyval(text)).toStrictEqual(expected);
  });

  it.each(['a=b\\', '\\', 'a=\\\\\\', 'a\\'])('throws SyntaxError for the trailing lone backslash in %j', (text) => {
    expect(() => parseKeyval(text)).toThrow(SyntaxError);
    expect(() => parseKeyval(text)).toThrow('trailing backslash');
  });

  it('accepts an escaped backslash at the very end', () => {
    expect(parseKeyval('a=\\\\')).toStrictEqual([item('a', '\\')]);
  });
});

describe('formatKeyval', () => {
  it('escapes backslash, comma and "=" in keys and values', () => {
    expect(formatKeyval([item('a=b', 'c,d\\e=f'), item('g,h')])).toBe('a\\=b=c\\,d\\\\e\\=f,g\\,h');
  });

  it('writes an empty value as "key="', () => {
    expect(formatKeyval([item('a', '')])).toBe('a=');
  });

  it('formats a lone empty bare item as the empty text, which parses back as no items', () => {
    expect(formatKeyval([item('')])).toBe('');
    expect(parseKeyval('')).toStrictEqual([]);
  });

  it.each<[string, KeyvalItem[]]>([
    ['plain pairs', [item('a', '1'), item('b', '2')]],
    ['bare words', [item('reset_after_push'), item('x')]],
    ['every special character', [item('k\\,=', '\\v,=,\\'), item('=', '=')]],
    ['empty values and empty keys', [item('a', ''), item('', 'v'), item('', '')]],
    ['several empty bare items', [item(''), item(''), item('')]],
    ['a trailing backslash in a value', [item('path', 'C:\\')]],
    ['no items', []],
  ])('round-trips %s through parseKeyval', (_name, items) => {
    expect(parseKeyval(formatKeyval(items))).toStrictEqual(items);
  });
});
