import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.ts';

function split(chunks: (string | Buffer)[], maxLength?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), maxLength);
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  splitter.end();
  splitter.push(Buffer.from('ignored\n'));
  return lines;
}

describe('LineSplitter', () => {
  it.each<[string, (string | Buffer)[], string[]]>([
    ['LF lines', ['a\nb\n'], ['a', 'b']],
    ['CRLF lines', ['a\r\nb\r\n'], ['a', 'b']],
    ['a line split across chunks', ['he', 'llo\nwor', 'ld'], ['hello', 'world']],
    ['empty lines', ['\n\n'], ['', '']],
    ['a CR at the very end', ['last\r'], ['last']],
    [
      'UTF-8 split inside a character',
      [Buffer.from([0x63, 0x61, 0x66, 0xc3]), Buffer.from([0xa9, 0x0a])],
      ['café'],
    ],
    ['nothing', [], []],
  ])('%s', (_name, chunks, expected) => {
    expect(split(chunks)).toStrictEqual(expected);
  });

  it('cuts lines longer than maxLength, terminated or not', () => {
    expect(split(['abcdefg\n'], 3)).toStrictEqual(['abc', 'def', 'g']);
    expect(split(['abcd', 'efg'], 3)).toStrictEqual(['abc', 'def', 'g']);
  });
});
