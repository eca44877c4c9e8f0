// This file implements the tests of control-protocol.ts from the perspective of a client that
// writes request lines, well-formed or not: every line gives a command or an error to send back.

import { describe, expect, it } from 'vitest';
import { encodeControlLine, parseControlRequest } from './control-protocol.ts';

describe('parseControlRequest', () => {
  it.each(['status', 'reload', 'stop'] as const)('reads {"command":"%s"}', (command) => {
    expect(parseControlRequest(JSON.stringify({ command }))).toEqual({ ok: true, command });
  });

  it('ignores other fields and surrounding whitespace', () => {
    expect(parseControlRequest(' {"command":"stop","extra":1}\r')).toEqual({ ok: true, command: 'stop' });
  });

  it.each([
    ['{"command":"x"}', 'control: unknown command "x"'],
    ['{"command":"STATUS"}', 'control: unknown command "STATUS"'],
    ['{"command":42}', 'control: unknown command 42'],
    ['{"command":null}', 'control: unknown command null'],
    ['{"command":"toString"}', 'control: unknown command "toString"'],
    ['{}', 'control: invalid request: expected an object such as {"command":"status"}'],
    ['"status"', 'control: invalid request: expected an object such as {"command":"status"}'],
    ['null', 'control: invalid request: expected an object such as {"command":"status"}'],
    ['[1]', 'control: invalid request: expected an object such as {"command":"status"}'],
  ])('refuses %s', (line, error) => {
    expect(parseControlRequest(line)).toEqual({ ok: false, error });
  });

  it.each(['status', '', '{"command":', '\u0000'])(
    'refuses %j as not JSON, naming the expected form',
    (line) => {
      const parsed = parseControlRequest(line);
      expect(parsed.ok).toBe(false);
      if (parsed.ok) return;
      expect(parsed.error).toMatch(
        /^control: invalid request: not JSON \(.+\); send one line such as \{"command":"status"\}$/,
      );
    },
  );
});

describe('encodeControlLine', () => {
  it('writes one JSON line', () => {
    expect(encodeControlLine({ command: 'status' })).toBe('{"command":"status"}\n');
    expect(encodeControlLine({ ok: false, errors: ['a\nb'] })).toBe('{"ok":false,"errors":["a\\nb"]}\n');
  });
});
