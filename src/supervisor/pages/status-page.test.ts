// This file implements the tests of the status page's formats from the perspective of PHP-FPM's
// clients: the query picks the format as PHP-FPM's does, the JSON has its keys (with `request
// uri` spelled as there), plain text its 22-column labels, `full` one block per worker, and the
// metrics text prom-client's, counters ending in `_total`, Prometheus or OpenMetrics by Accept.
import { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { testPoolStatus } from '../status-test-peer.ts';
import type { WorkerStatus } from '../status.ts';
import { parseStatusQuery, statusResponse } from './status-page.ts';

const NOW = Date.UTC(2026, 0, 2, 4, 0, 0);
const WORKER: WorkerStatus = {
  pid: 77, state: 'Running', startedAtMs: NOW - 60_000, requests: 5, requestDurationUs: 2_500_000,
  requestMethod: 'GET', requestUri: '/cgi-bin/slow.py?x=1', contentLength: 0, user: '-', script: '/srv/cgi-bin/slow.py',
  rssBytes: 1000,
};
const POOL = testPoolStatus({ processes: [WORKER, { ...WORKER, pid: 78, state: 'Idle' }], startedAtMs: NOW - 3_600_000 });
const durations = new Histogram({ name: 'cgifpm_request_duration_seconds', help: 'h', buckets: [0.1, 1], registers: [] });
durations.observe(0.05);

async function page(query: string, accept = ''): Promise<{ head: string; body: string }> {
  const text = (await statusResponse(POOL, durations, parseStatusQuery(query, accept), NOW)).toString();
  const at = text.indexOf('\r\n\r\n');
  return { head: text.slice(0, at), body: text.slice(at + 4) };
}

describe('parseStatusQuery', () => {
  it('reads the names PHP-FPM reads', () => {
    expect(parseStatusQuery('')).toEqual({ format: 'plain', full: false, accept: '' });
    expect(parseStatusQuery('json&full')).toEqual({ format: 'json', full: true, accept: '' });
    expect(parseStatusQuery('full&html=1')).toMatchObject({ format: 'html', full: true });
    expect(parseStatusQuery('openmetrics')).toMatchObject({ format: 'openmetrics' });
    expect(parseStatusQuery('xml')).toMatchObject({ format: 'xml' });
    expect(parseStatusQuery('jsonx&fullish')).toEqual({ format: 'plain', full: false, accept: '' });
  });
});

describe('statusResponse', () => {
  it("answers PHP-FPM's JSON keys, full with the workers", async () => {
    const { head, body } = await page('json&full');
    expect(head).toContain('Content-Type: application/json');
    expect(head).toContain('Cache-Control: no-cache');
    const json = JSON.parse(body) as Record<string, unknown>;
    expect(json).toMatchObject({
      pool: 'blog', 'process manager': 'static', 'start time': (NOW - 3_600_000) / 1000, 'start since': 3600,
      'accepted conn': 1200, 'listen queue': 2, 'max listen queue': 7, 'listen queue len': 100, 'idle processes': 3,
      'active processes': 1, 'total processes': 4, 'max active processes': 3, 'max children reached': 9,
      'slow requests': 1, respawns: 1, 'scale ups': 1, crashes: 1, overloaded: 5,
    });
    expect(json.processes).toEqual([
      {
        pid: 77, state: 'Running', 'start time': (NOW - 60_000) / 1000, 'start since': 60, requests: 5,
        'request duration': 2_500_000, 'request method': 'GET', 'request uri': '/cgi-bin/slow.py?x=1',
        'content length': 0, user: '-', script: '/srv/cgi-bin/slow.py', 'last request cpu': 0,
        'last request memory': 0, memory: 1000,
      },
      expect.objectContaining({ pid: 78, state: 'Idle' }),
    ]);
    expect(JSON.parse((await page('json')).body)).not.toHaveProperty('processes');
  });

  it('answers plain text with 22-column labels and starred worker blocks', async () => {
    const { head, body } = await page('full');
    expect(head).toContain('Content-Type: text/plain');
    expect(body.startsWith('pool:                 blog\nprocess manager:      static\n')).toBe(true);
    expect(body).toContain('\nmax children reached: 9\n');
    expect(body).toContain('\n************************\npid:                  77\nstate:                Running\n');
    expect(body).toContain('\nrequest URI:          /cgi-bin/slow.py?x=1\n');
    expect(body).toContain('\nlast request cpu:     0.00\n');
  });

  it('answers HTML and XML with escaped values', async () => {
    const html = await page('html&full');
    expect(html.head).toContain('Content-Type: text/html');
    expect(html.body).toContain('<td>/cgi-bin/slow.py?x=1</td>');
    const xml = await page('xml&full');
    expect(xml.body).toMatch(/^<\?xml version="1.0" \?>\n<status>\n<pool>blog<\/pool>\n/);
    expect(xml.body).toContain('<request-uri>/cgi-bin/slow.py?x=1</request-uri>');
    expect(xml.body.endsWith('</processes>\n</status>\n')).toBe(true);
  });

  it('answers Prometheus text, or OpenMetrics when Accept asks for it', async () => {
    const prom = await page('openmetrics');
    expect(prom.head).toContain('Content-Type: text/plain; version=0.0.4; charset=utf-8');
    expect(prom.body).toContain('# TYPE phpfpm_accepted_connections_total counter\nphpfpm_accepted_connections_total{pool="blog"} 1200\n');
    expect(prom.body).toContain('phpfpm_max_active_processes{pool="blog"} 3\n');
    expect(prom.body).toContain('cgifpm_request_duration_seconds_bucket{le="0.1",pool="blog"} 1\n');
    const om = await page('openmetrics', 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
    expect(om.head).toContain('Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body).toContain('# TYPE phpfpm_accepted_connections counter\nphpfpm_accepted_connections_total{pool="blog"} 1200\n');
    expect(om.body.endsWith('# EOF\n')).toBe(true);
  });
});
