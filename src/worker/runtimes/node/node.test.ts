// This file implements the node runtime's tests of the process a script sees, from the
// perspective of a worker serving requests: real script files in a temp dir, run by the
// runtime in a stand-in worker process (node-harness-test-peer.ts) through the real CGI output
// stage — stdio, environment, argv, cwd, modules and globals under each state policy.
import { createHash } from 'node:crypto';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectRestored, HEAD, usePeerSuite, type RuntimePeer } from './node-harness-test-peer.ts';

/** The scripts, CommonJS as a CGI author writes them. */
const scripts: Record<string, string> = {
  'hello-console.js':
    "#!/usr/bin/env node\nconsole.log('Content-Type: text/plain');\nconsole.log();\nconsole.log('hello from %s', 'console.log');\n",
  'hello-write.js': String.raw`process.stdout.write('Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n'); process.stdout.write('hello from write');`,
  'env.js': `${HEAD}
const seen = { query: process.env.QUERY_STRING, leak: process.env.LEAK, keys: Object.keys(process.env).sort(),
  argv: process.argv, cwd: process.cwd(), filename: __filename, dirname: __dirname, main: require.main === module,
  helperMain: require('./lib/main-file.js'),
  os: typeof require('node:os').cpus };
process.env.LEAK = 'from an earlier request';
process.env.NUMBER = 42;
seen.number = process.env.NUMBER;
console.log(JSON.stringify(seen));`,
  'lib/main-file.js': `module.exports = require.main.filename;`,
  'stdin-hash.js': `const hash = require('crypto').createHash('sha256'); let bytes = 0;
process.stdin.on('data', (chunk) => { hash.update(chunk); bytes += chunk.length; });
process.stdin.on('end', () => { ${HEAD} process.stdout.write(bytes + ' ' + hash.digest('hex')); });`,
  'stdin-iterate.js': `(async () => { let text = ''; for await (const chunk of process.stdin) text += chunk;
  ${HEAD} process.stdout.write(text.toUpperCase()); })();`,
  'big-output.js': `${HEAD}
const block = Buffer.alloc(65536, 'x'); let left = 160, refused = 0;
function more() { while (left > 0) { left--; if (!process.stdout.write(block)) { refused++; process.stdout.once('drain', more); return; } }
  process.stderr.write('refused ' + refused + '\\n'); }
more();`,
  'exit-code.js': `${HEAD} process.exitCode = 5; console.log('set exitCode');`,
  'exit-listener.js': `${HEAD} process.on('exit', (code) => process.stdout.write('bye ' + code)); process.on('SIGUSR2', () => {});`,
  'lib/counter.js': `let count = 0; module.exports = () => ++count;`,
  'counter.js': `const next = require('./lib/counter.js'); ${HEAD} process.stdout.write('count ' + next());`,
  'globals.js': `globalThis.counter = (globalThis.counter ?? 0) + 1; globalThis.structuredClone = 'replaced';
leaked = 'implicit global'; ${HEAD} process.stdout.write('counter ' + counter);`,
  'cwd.js': `${HEAD} const before = process.cwd(); process.chdir('/'); console.log(before + ' -> ' + process.cwd());`,
  'reassign.js': `${HEAD} const out = process.stdout;
process.env = { ONLY: 'mine' }; process.argv = ['x']; console = { log: (s) => out.write('mine: ' + s) };
Object.defineProperty(process, 'exit', { value: () => 'redefined', configurable: true, writable: true });
delete process.stderr;
console.log(process.env.ONLY + ' ' + process.argv.length + ' ' + process.exit());`,
};

const suite = usePeerSuite(scripts);
const startPeer = suite.start;
const request = suite.request;

describe('node runtime (state.modules = reset, state.globals = reset)', () => {
  let peer: RuntimePeer;
  beforeAll(async () => {
    peer = await startPeer('reset', 'reset');
  });

  it('answers hello via console.log and via process.stdout.write', async () => {
    const logged = await request(peer, 'hello-console.js');
    expect(logged).toMatchObject({ status: 200, exitCode: 0, body: 'hello from console.log\n' });
    const written = await request(peer, 'hello-write.js');
    expect(written).toMatchObject({ status: 201, exitCode: 0, body: 'hello from write' });
    expectRestored(written);
  });

  it('gives each request exactly its CGI environment, argv, cwd and CommonJS module', async () => {
    const env = { QUERY_STRING: 'a=1', REQUEST_METHOD: 'GET', SCRIPT_FILENAME: join(suite.dir, 'env.js') };
    const first = JSON.parse((await request(peer, 'env.js', { env })).body) as Record<string, unknown>;
    expect(first).toMatchObject({
      query: 'a=1',
      keys: ['QUERY_STRING', 'REQUEST_METHOD', 'SCRIPT_FILENAME'],
      argv: [process.execPath, join(suite.dir, 'env.js')],
      cwd: suite.dir,
      filename: join(suite.dir, 'env.js'),
      dirname: suite.dir,
      main: true,
      helperMain: join(suite.dir, 'env.js'),
      os: 'function',
      number: '42',
    });
    expect(first.leak).toBeUndefined();
    const second = await request(peer, 'env.js', { env: { QUERY_STRING: 'b=2' } });
    expect(JSON.parse(second.body)).toMatchObject({ query: 'b=2', keys: ['QUERY_STRING'] });
    expect((JSON.parse(second.body) as Record<string, unknown>).leak).toBeUndefined();
    expectRestored(second);
  });

  it('streams a 3 MB body into process.stdin', async () => {
    const bytes = 3 * 1024 * 1024 + 5;
    const report = await request(peer, 'stdin-hash.js', { body: { patternBytes: bytes, chunkBytes: 32768 } });
    const expected = Buffer.allocUnsafe(bytes);
    for (let i = 0; i < bytes; i++) expected[i] = (i * 31 + (i >> 8)) & 0xff;
    expect(report.body).toBe(`${bytes} ${createHash('sha256').update(expected).digest('hex')}`);
    const iterated = await request(peer, 'stdin-iterate.js', { body: { text: 'shout this' } });
    expect(iterated.body).toBe('SHOUT THIS');
  });

  it('sends 10 MB with backpressure: write() returns false and drain follows a slow client', async () => {
    const report = await request(peer, 'big-output.js', { slowClient: true });
    expect(report.bodyBytes).toBe(160 * 65536);
    expect(report.bodySha256).toBe(
      createHash('sha256')
        .update(Buffer.alloc(160 * 65536, 'x'))
        .digest('hex'),
    );
    const refused = Number(/refused (\d+)/.exec(report.stderr.join('\n'))?.[1]);
    expect(refused).toBeGreaterThan(0);
  });

  it("reports process.exitCode and calls the script's exit listeners", async () => {
    expect(await request(peer, 'exit-code.js')).toMatchObject({ exitCode: 5, body: 'set exitCode\n' });
    const listener = await request(peer, 'exit-listener.js');
    expect(listener.body).toBe('bye 0');
    expectRestored(listener);
  });

  it('imports a helper module fresh for every request', async () => {
    expect((await request(peer, 'counter.js')).body).toBe('count 1');
    expect((await request(peer, 'counter.js')).body).toBe('count 1');
  });

  it('removes the globals a script added and restores the ones it replaced', async () => {
    const first = await request(peer, 'globals.js');
    expect(first.body).toBe('counter 1');
    expect(first.after.addedGlobals).toEqual([]);
    expect((await request(peer, 'globals.js')).body).toBe('counter 1');
  });

  it('restores the working directory the script changed', async () => {
    const report = await request(peer, 'cwd.js');
    expect(report.body).toBe(`${suite.dir} -> /\n`);
    // The worker stays in the run's directory between runs (no chdir back and forth).
    expect(report.after.cwd).toBe(suite.dir);
    expect((await request(peer, 'cwd.js')).body).toBe(`${suite.dir} -> /\n`);
  });

  it('lets a script assign or redefine process members for its own run only', async () => {
    const report = await request(peer, 'reassign.js');
    expect(report.body).toBe('mine: mine 1 redefined');
    expectRestored(report);
    const env = JSON.parse((await request(peer, 'env.js', { env: { QUERY_STRING: 'y' } })).body) as Record<string, unknown>;
    expect(env.query).toBe('y');
    expect(env.keys).not.toContain('ONLY');
  });

  it('picks up an edited script on its next request', async () => {
    const file = join(suite.dir, 'edited.js');
    await writeFile(file, `${HEAD} process.stdout.write('version 1');`);
    expect((await request(peer, 'edited.js')).body).toBe('version 1');
    await writeFile(file, `${HEAD} process.stdout.write('version 2');`);
    const later = new Date(Date.now() + 2000);
    await utimes(file, later, later);
    expect((await request(peer, 'edited.js')).body).toBe('version 2');
  });

  it("never wrote to the worker's own stdout or stderr", () => {
    expect(peer.output).toBe('');
  });
});

describe('node runtime (state.modules = keep, state.globals = keep)', () => {
  let peer: RuntimePeer;
  beforeAll(async () => {
    peer = await startPeer('keep', 'keep');
  });

  it('keeps a helper module warm: its counter grows', async () => {
    expect((await request(peer, 'counter.js')).body).toBe('count 1');
    expect((await request(peer, 'counter.js')).body).toBe('count 2');
    expect((await request(peer, 'counter.js')).body).toBe('count 3');
  });

  it('keeps the globals a script set, and still restores env, stdio, cwd and console', async () => {
    expect((await request(peer, 'globals.js')).body).toBe('counter 1');
    const second = await request(peer, 'globals.js');
    expect(second.body).toBe('counter 2');
    expect(second.after.addedGlobals).toEqual(expect.arrayContaining(['counter', 'leaked']));
    expectRestored(second);
    const env = await request(peer, 'env.js', { env: { QUERY_STRING: 'x' } });
    expect((JSON.parse(env.body) as Record<string, unknown>).leak).toBeUndefined();
  });
});
