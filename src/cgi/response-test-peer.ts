// This file implements the head parsing helper from the perspective of the tests of response.ts:
// text as latin1 bytes, and a head parsed from chunks with the body bytes that follow it.
import { CgiHeadParser, type CgiHead } from './response.ts';

export const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Parses `input` pushed as the given chunks; returns the head and every body byte after it. */
export function parse(chunks: Buffer[], maxBytes?: number): { head: CgiHead; body: Buffer } {
  const parser = new CgiHeadParser(maxBytes);
  const body: Buffer[] = [];
  let head: CgiHead | undefined;
  for (const chunk of chunks) {
    if (head !== undefined) body.push(chunk);
    else if ((head = parser.push(chunk)) !== undefined) body.push(parser.rest);
  }
  if (head === undefined) throw new Error('no head');
  return { head, body: Buffer.concat(body) };
}
