import { describe, expect, it } from 'vitest';
import { errorResponse, htmlResponse } from './error-page.ts';

describe('errorResponse', () => {
  it('writes a CGI head and a small HTML page', () => {
    const body =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
      '<hr><center>cgi-fpm</center>\r\n</body>\r\n</html>\r\n';
    expect(errorResponse(502, 'Bad Gateway').toString('latin1')).toBe(
      `Status: 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });

  it('adds extra headers before Content-Length', () => {
    const text = errorResponse(503, 'Service Unavailable', [['Retry-After', '5']]).toString('latin1');
    expect(text).toMatch(
      /^Status: 503 Service Unavailable\r\nContent-Type: text\/html\r\nRetry-After: 5\r\nContent-Length: \d+\r\n\r\n/,
    );
  });

  it('escapes markup and non-ASCII in the title', () => {
    const text = errorResponse(404, 'No <script> & "café" 😀').toString('latin1');
    expect(text).toContain('<h1>404 No &#60;script&#62; &#38; "caf&#233;" &#128512;</h1>');
  });

  it('throws TypeError for a status that cannot be sent', () => {
    expect(() => errorResponse(42, 'x')).toThrow(TypeError);
  });
});

describe('htmlResponse', () => {
  it('frames the caller\'s own body with Status, Content-Type, extra headers and Content-Length', () => {
    const text = htmlResponse(503, Buffer.from('<p>busy</p>'), [['Retry-After', '3']]).toString('latin1');
    expect(text).toBe('Status: 503 Service Unavailable\r\nContent-Type: text/html\r\nRetry-After: 3\r\nContent-Length: 11\r\n\r\n<p>busy</p>');
  });
});
