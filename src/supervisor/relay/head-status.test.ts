// This file implements the tests of head-status.ts from the perspective of the access log: the
// status of a worker's answer read from the head the worker normalized.
import { describe, expect, it } from 'vitest';
import { encodeCgiHead } from '../../cgi/response.ts';
import { cgiHeadStatus } from './head-status.ts';

describe('cgiHeadStatus', () => {
  it('reads the Status line the worker writes first', () => {
    expect(cgiHeadStatus(encodeCgiHead({ status: 404, reason: 'Not Found', headers: [['Content-Type', 'text/html']] }))).toBe(404);
    expect(cgiHeadStatus(Buffer.from('Status: 200\r\n\r\n'))).toBe(200);
    expect(cgiHeadStatus(Buffer.from('Status: 504 Gateway Timeout\r\n'))).toBe(504);
  });

  it('takes a bare Location (local redirect) as 302 and anything else as 200', () => {
    expect(cgiHeadStatus(Buffer.from('Location: /elsewhere\r\n\r\n'))).toBe(302);
    expect(cgiHeadStatus(Buffer.from('Content-Type: text/plain\r\n\r\n'))).toBe(200);
    expect(cgiHeadStatus(Buffer.from('Status: 2'))).toBe(200);
    expect(cgiHeadStatus(Buffer.from('Status: abc'))).toBe(200);
  });
});
