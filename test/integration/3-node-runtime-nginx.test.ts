// This file implements issue 3's `runtime = "node"` request checks from the perspective of an
// HTTP client behind a real nginx: unmodified CommonJS CGI scripts answer from the worker's
// memory with their own environment, body, working directory and timers, and an edited script
// is used on its next request without a restart.
import { createHash, randomBytes } from 'node:crypto';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeStack } from './3-node-stack.ts';
import { waitForRequestLog } from './helpers/logs.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack(nodeStack([{ name: 'node' }]));

function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

describe('node runtime behind nginx', () => {
  it('answers a GET with the CGI environment and logs one request line', async () => {
    const { daemon, root } = stack();
    const since = daemon.logs.length;
    const res = await stack().request('/node/hello.js?name=node&x=1');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-runtime']).toBe('node');
    expect(json(res.text)).toMatchObject({
      hello: 'Hello from node',
      method: 'GET',
      query: 'name=node&x=1',
      greeting: 'hello from the pool env',
      scriptName: '/node/hello.js',
      argv1: join(root, 'node', 'hello.js'),
      bodyBytes: 0,
    });
    expect(await waitForRequestLog(daemon, 'hello.js', since)).toMatchObject({ pool: 'node', status: 200 });
  });

  it('streams a 1 MiB POST body into process.stdin', async () => {
    const body = randomBytes(1024 * 1024);
    const res = await stack().request('/node/hello.js', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    expect(json(res.text)).toMatchObject({
      method: 'POST',
      bodyBytes: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
    });
  });

  it('an environment variable set by one request is gone in the next', async () => {
    const first = await stack().request('/node/env-leak.js?first');
    expect(first.text).toBe('before=(unset)\n');
    const second = await stack().request('/node/env-leak.js?second');
    expect(second.text).toBe('before=(unset)\n');
  });

  it('runs in the script directory, and a changed cwd is restored for the next request', async () => {
    const { root } = stack();
    for (let i = 0; i < 2; i++) {
      const res = await stack().request('/node/cwd.js');
      expect(res.status).toBe(200);
      expect(res.text).toBe(`start=${join(root, 'node')}\nscriptDir=true\n`);
    }
  });

  it('sends what the script writes after a 10 ms timer', async () => {
    const res = await stack().request('/node/timer.js');
    expect(res.status).toBe(200);
    expect(res.text).toBe('now\nafter 10 ms\n');
  });

  it('uses an edited script on its next request', async () => {
    const { root } = stack();
    const file = join(root, 'node', 'edit.js');
    expect((await stack().request('/node/edit.js')).text).toBe('version=1\n');
    await writeFile(file, "console.log('Content-Type: text/plain\\n');\nconsole.log('version=2, edited');\n");
    // A later mtime even on file systems with coarse timestamps.
    const later = new Date(Date.now() + 2000);
    await utimes(file, later, later);
    const edited = await stack().request('/node/edit.js');
    expect(edited.status).toBe(200);
    expect(edited.text).toBe('version=2, edited\n');
  });
});
