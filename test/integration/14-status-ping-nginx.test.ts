// This file implements the status and ping pages (issue 14, item 1) from the perspective of an
// operator coming from PHP-FPM: nginx passes `/status` and `/ping` to the pool socket like any
// script, the supervisor answers them itself in PHP-FPM's formats (the JSON php-fpm_exporter
// reads, `?full` per worker, plain text, HTML, XML, and Prometheus text that `promtool check
// metrics` accepts), also to `cgi-fcgi` sending what php-fpm_exporter sends, and keeps answering
// while every worker is busy, showing which script each worker runs.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GateSlot, released } from './helpers/gate.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const run = promisify(execFile);
const gate = new GateSlot();

const stack = useStack({
  pools: async (paths: StackPaths) => {
    await gate.open(paths.dir, join(paths.root, 'gate.sh'));
    return {
      main: {
        ...defaultPool(paths.root, paths.fastcgiSocket),
        pm: { max_children: 2, status_path: '/status', status_listen: join(paths.dir, 'status.sock') },
        ping: { path: '/ping', response: 'pong' },
      },
    };
  },
});

/** A PHP-FPM JSON status page, as php-fpm_exporter decodes it. */
interface FpmStatus {
  readonly pool: string;
  readonly 'process manager': string;
  readonly 'start time': number;
  readonly 'start since': number;
  readonly 'accepted conn': number;
  readonly 'listen queue': number;
  readonly 'max listen queue': number;
  readonly 'listen queue len': number;
  readonly 'idle processes': number;
  readonly 'active processes': number;
  readonly 'total processes': number;
  readonly 'max active processes': number;
  readonly 'max children reached': number;
  readonly 'slow requests': number;
  readonly processes?: readonly FpmProcess[];
}

interface FpmProcess {
  readonly pid: number;
  readonly state: string;
  readonly 'start time': number;
  readonly requests: number;
  readonly 'request duration': number;
  readonly 'request method': string;
  readonly 'request uri': string;
  readonly 'content length': number;
  readonly user: string;
  readonly script: string;
  readonly 'last request cpu': number;
  readonly 'last request memory': number;
}

async function statusJson(query = 'json&full'): Promise<FpmStatus> {
  const res = await stack().request(`/status?${query}`);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  return JSON.parse(res.text) as FpmStatus;
}

describe('pm.status_path = "/status" through nginx', () => {
  it("answers PHP-FPM's JSON with every field php-fpm_exporter reads, and a full view per worker", async () => {
    const hello = await stack().request('/hello.sh?from=status-test');
    expect(hello.status).toBe(200);
    const status = await statusJson();
    expect(status.pool).toBe('main');
    expect(status['process manager']).toBe('static');
    expect(Number.isInteger(status['start time'])).toBe(true);
    expect(status['start time']).toBeLessThanOrEqual(Date.now() / 1000);
    expect(status['accepted conn']).toBeGreaterThanOrEqual(1);
    expect(status['listen queue']).toBe(0);
    expect(status['listen queue len']).toBe(100);
    expect(status['total processes']).toBe(2);
    expect(status['idle processes'] + status['active processes']).toBe(2);
    expect(status['max active processes']).toBeGreaterThanOrEqual(1);
    for (const key of ['max listen queue', 'max children reached', 'slow requests', 'start since'] as const) {
      expect(Number.isInteger(status[key])).toBe(true);
    }
    const processes = status.processes ?? [];
    expect(processes).toHaveLength(2);
    const served = processes.find((p) => p['request uri'] === '/hello.sh?from=status-test');
    expect(served).toMatchObject({
      state: 'Idle', 'request method': 'GET', script: join(stack().root, 'hello.sh'), user: '-', 'content length': 0,
    });
    expect(served?.requests).toBeGreaterThanOrEqual(1);
    expect(served?.['request duration']).toBeGreaterThan(0);
    for (const p of processes) {
      expect(Number.isInteger(p.pid) && p.pid > 0).toBe(true);
      expect(typeof p['last request cpu']).toBe('number');
      expect(typeof p['last request memory']).toBe('number');
    }
  });

  it('answers plain text (PHP-FPM labels, 22 columns), HTML and XML', async () => {
    const plain = await stack().request('/status');
    expect(plain.headers['content-type']).toBe('text/plain');
    expect(plain.headers['cache-control']).toContain('no-cache');
    expect(plain.text).toMatch(/^pool: {17}main\nprocess manager: {6}static\nstart time: {11}\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\n/);
    expect(plain.text).toMatch(/\naccepted conn: {8}\d+\n/);
    expect(plain.text).toMatch(/\nmax active processes: \d+\n/);
    expect(plain.text).not.toContain('************************');
    const full = await stack().request('/status?full');
    expect(full.text.split('************************')).toHaveLength(3);
    const html = await stack().request('/status?html&full');
    expect(html.headers['content-type']).toBe('text/html');
    expect(html.text).toContain('<tr><th>pool</th><td>main</td></tr>');
    expect(html.text).toContain('<th>request URI</th>');
    const xml = await stack().request('/status?xml');
    expect(xml.headers['content-type']).toBe('text/xml');
    expect(xml.text).toContain('<accepted-conn>');
  });

  it('answers Prometheus text that promtool check metrics accepts, and OpenMetrics when asked', async () => {
    const res = await stack().request('/status?openmetrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8', timeout: EVENT_TIMEOUT_MS });
    expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: '' });
    expect(res.text).toMatch(/^phpfpm_accepted_connections_total\{pool="main"\} \d+$/m);
    expect(res.text).toMatch(/^phpfpm_total_processes\{pool="main"\} 2$/m);
    expect(res.text).toMatch(/^cgifpm_request_duration_seconds_bucket\{le="\+Inf",pool="main"\} \d+$/m);
    const om = await stack().request('/status?openmetrics', { headers: { accept: 'application/openmetrics-text;version=1.0.0' } });
    expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.text).toMatch(/# EOF\n$/);
  });

  it("answers cgi-fcgi sending what php-fpm_exporter sends (SCRIPT_NAME=/status, QUERY_STRING=json)", async () => {
    const { stdout } = await run('cgi-fcgi', ['-bind', '-connect', stack().fastcgiSocket], {
      env: { SCRIPT_NAME: '/status', SCRIPT_FILENAME: '/status', QUERY_STRING: 'json', REQUEST_METHOD: 'GET' },
      timeout: EVENT_TIMEOUT_MS,
    });
    const [head = '', body = ''] = stdout.split('\r\n\r\n');
    expect(head).toContain('Status: 200 OK');
    expect(head).toContain('Content-Type: application/json');
    const status = JSON.parse(body) as FpmStatus;
    expect(status.pool).toBe('main');
    expect(status.processes).toBeUndefined();
  });
});

describe('pm.status_listen', () => {
  it('answers the pages on a socket of its own, and 404 for scripts there', async () => {
    const socket = join(stack().dir, 'status.sock');
    const ask = (env: Record<string, string>) => run('cgi-fcgi', ['-bind', '-connect', socket], {
      env: { REQUEST_METHOD: 'GET', ...env }, timeout: EVENT_TIMEOUT_MS,
    });
    const status = await ask({ SCRIPT_NAME: '/status', SCRIPT_FILENAME: '/status', QUERY_STRING: 'json' });
    expect(JSON.parse(status.stdout.split('\r\n\r\n')[1] ?? '')).toMatchObject({ pool: 'main' });
    expect((await ask({ SCRIPT_NAME: '/ping', SCRIPT_FILENAME: '/ping' })).stdout).toMatch(/\r\n\r\npong$/);
    const script = await ask({ SCRIPT_NAME: '/hello.sh', SCRIPT_FILENAME: join(stack().root, 'hello.sh') });
    expect(script.stdout).toContain('Status: 404 Not Found');
    expect(script.stdout).not.toContain('hello');
  });
});

describe('ping.path = "/ping"', () => {
  it('answers ping.response as text/plain', async () => {
    const res = await stack().request('/ping');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.text).toBe('pong');
  });
});

describe('every worker busy', () => {
  it('still answers /ping and /status, which show each worker running its script', async () => {
    const g = gate.get();
    const held = ['busy-a', 'busy-b'].map((name) => stack().request(`/gate.sh?${name}`));
    try {
      await g.waitStarted('busy-a');
      await g.waitStarted('busy-b');
      const ping = await stack().request('/ping');
      expect(ping.text).toBe('pong');
      const status = await waitUntil('both workers running in status', async () => {
        const s = await statusJson();
        return s['active processes'] === 2 ? s : undefined;
      }, EVENT_TIMEOUT_MS);
      expect(status['idle processes']).toBe(0);
      expect(status['max active processes']).toBe(2);
      const running = (status.processes ?? []).filter((p) => p.state === 'Running');
      expect(running.map((p) => p['request uri']).sort()).toEqual(['/gate.sh?busy-a', '/gate.sh?busy-b']);
      for (const p of running) expect(p.script).toBe(join(stack().root, 'gate.sh'));
      const plain = await stack().request('/status?full');
      expect(plain.text).toMatch(/state: {16}Running\n/);
    } finally {
      await g.release('busy-a', 'busy-b');
    }
    const answers = await Promise.all(held);
    expect(answers.map((r) => r.text).sort()).toEqual([released('busy-a'), released('busy-b')]);
  });
});
