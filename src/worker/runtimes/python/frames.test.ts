import { describe, expect, it } from 'vitest';
import {
  FRAME_HEADER_BYTES,
  Frame,
  FrameParser,
  MAX_CONTROL_PAYLOAD_BYTES,
  encodeFrameHeader,
} from './frames.ts';

type Event = ['data' | 'frame', number, string];

function parse(chunks: Buffer[]): Event[] {
  const events: Event[] = [];
  const parser = new FrameParser([Frame.STDOUT, Frame.STDERR], {
    data: (type, piece) => events.push(['data', type, piece.toString('latin1')]),
    frame: (type, payload) => events.push(['frame', type, payload.toString('latin1')]),
  });
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

function frame(type: number, payload: string): Buffer {
  return Buffer.concat([
    encodeFrameHeader(type, Buffer.byteLength(payload, 'latin1')),
    Buffer.from(payload, 'latin1'),
  ]);
}

/** Every way to cut `bytes` in two. */
function splits(bytes: Buffer): Buffer[][] {
  return Array.from({ length: bytes.length + 1 }, (_, at) => [bytes.subarray(0, at), bytes.subarray(at)]);
}

describe('encodeFrameHeader', () => {
  it.each<[number, number, number[]]>([
    [Frame.STDOUT, 0, [0x4f, 0, 0, 0, 0]],
    [Frame.STDIN, 300, [0x49, 0, 0, 1, 44]],
    [Frame.REQUEST, 0x01020304, [0x52, 1, 2, 3, 4]],
  ])('type %i, %i bytes', (type, length, bytes) => {
    expect([...encodeFrameHeader(type, length)]).toEqual(bytes);
    expect(encodeFrameHeader(type, length)).toHaveLength(FRAME_HEADER_BYTES);
  });
});

describe('FrameParser', () => {
  it('hands control frames on whole and streamed frames on as pieces, in order', () => {
    const bytes = Buffer.concat([
      frame(Frame.HELLO, '{"python":"3.11.7"}'),
      frame(Frame.STDOUT, 'Status: 200\r\n\r\n'),
      frame(Frame.STDERR, 'warn\n'),
      frame(Frame.DONE, '{"exit":0}'),
    ]);
    expect(parse([bytes])).toEqual([
      ['frame', Frame.HELLO, '{"python":"3.11.7"}'],
      ['data', Frame.STDOUT, 'Status: 200\r\n\r\n'],
      ['data', Frame.STDERR, 'warn\n'],
      ['frame', Frame.DONE, '{"exit":0}'],
    ]);
  });

  it('gives the same frames whatever the chunk boundaries (header and payload split anywhere)', () => {
    const bytes = Buffer.concat([frame(Frame.DONE, '{"exit":3}'), frame(Frame.STDOUT, 'abcdef')]);
    for (const chunks of splits(bytes)) {
      const events = parse(chunks);
      expect(events.filter(([kind]) => kind === 'frame')).toEqual([['frame', Frame.DONE, '{"exit":3}']]);
      expect(
        events
          .filter(([kind]) => kind === 'data')
          .map(([, , text]) => text)
          .join(''),
      ).toBe('abcdef');
    }
  });

  it('passes streamed payloads on as they arrive, one byte at a time if need be', () => {
    const bytes = frame(Frame.STDOUT, 'xyz');
    const events = parse([...bytes].map((byte) => Buffer.from([byte])));
    expect(events).toEqual([
      ['data', Frame.STDOUT, 'x'],
      ['data', Frame.STDOUT, 'y'],
      ['data', Frame.STDOUT, 'z'],
    ]);
  });

  it('reports an empty control frame and never an empty piece', () => {
    expect(parse([frame(Frame.STDOUT, ''), frame(Frame.DONE, '')])).toEqual([['frame', Frame.DONE, '']]);
  });

  it('streams a 66000-byte payload without gathering it', () => {
    const payload = Buffer.alloc(66_000, 0x61);
    const bytes = Buffer.concat([encodeFrameHeader(Frame.STDOUT, payload.length), payload]);
    const events = parse([bytes.subarray(0, 1000), bytes.subarray(1000, 40_000), bytes.subarray(40_000)]);
    expect(events.map(([, , text]) => text.length)).toEqual([995, 39_000, 26_005]);
  });

  it('refuses a control frame larger than the bound (a broken runner)', () => {
    const parser = new FrameParser([Frame.STDOUT], { data: () => undefined, frame: () => undefined });
    expect(() => {
      parser.push(encodeFrameHeader(Frame.DONE, MAX_CONTROL_PAYLOAD_BYTES + 1));
    }).toThrow(RangeError);
  });
});
