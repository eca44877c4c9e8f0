// This file implements the node runtime's tests of asynchronous work that Node's public
// resource listing does not show, from the perspective of a script whose answer comes from it:
// thread-pool jobs (crypto, zlib, WebCrypto), a zlib stream, c-ares DNS queries, WebAssembly
// compilation, a worker thread and promise timers all hold the run open until they finish, as in
// a real process. A native addon's asynchronous work is the one case no public API shows: the
// run ends before its callback (docs/ISOLATION-node.md), unless the script keeps a timer.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLaterAddon } from './native-addon-test-peer.ts';
import { HEAD, usePeerSuite, type RuntimePeer } from './node-harness-test-peer.ts';

const scripts: Record<string, string> = {
  'pbkdf2.js': `require('crypto').pbkdf2('pw', 'salt', 200000, 32, 'sha256', (err, key) => {
  ${HEAD} process.stdout.write('key ' + key.length); });`,
  'gzip.js': `const zlib = require('zlib');
zlib.gzip(Buffer.alloc(4e6, 'a'), (err, out) => { ${HEAD} process.stdout.write('gunzipped ' + zlib.gunzipSync(out).length); });`,
  'zlib-stream.js': `const zlib = require('zlib'); const chunks = []; const gzip = zlib.createGzip();
gzip.on('data', (c) => chunks.push(c));
gzip.on('end', () => { ${HEAD} process.stdout.write('streamed ' + zlib.gunzipSync(Buffer.concat(chunks)).length); });
gzip.end(Buffer.alloc(8e6, 'b'));`,
  'subtle.js': `crypto.subtle.digest('SHA-256', Buffer.alloc(4e6)).then((digest) => {
  ${HEAD} process.stdout.write('digest ' + digest.byteLength); });`,
  'subtle-reject.js': `crypto.subtle.digest('NO-SUCH-HASH', Buffer.alloc(1)).catch((err) => {
  ${HEAD} process.stdout.write('rejected ' + err.name); });`,
  'wasm.js': `WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then((module) => {
  ${HEAD} process.stdout.write('compiled ' + (module instanceof WebAssembly.Module)); });`,
  'worker-thread.js': `const { Worker } = require('worker_threads');
const worker = new Worker("setTimeout(() => require('worker_threads').parentPort.postMessage(42), 50)", { eval: true });
worker.on('message', (n) => { ${HEAD} process.stdout.write('from thread ' + n); worker.unref(); });`,
  'dns-resolve.js': `const { Resolver } = require('dns'); const resolver = new Resolver({ timeout: 200, tries: 1 });
resolver.setServers(['127.0.0.1:1']);
resolver.resolve4('example.invalid', (err) => { ${HEAD} process.stdout.write('answered ' + (err ? err.code : 'ok')); });`,
  'dns-promises.js': `const { Resolver } = require('dns').promises; const resolver = new Resolver({ timeout: 200, tries: 1 });
resolver.setServers(['127.0.0.1:1']);
resolver.resolve4('example.invalid').catch((err) => { ${HEAD} process.stdout.write('answered ' + err.code); });`,
  'timers-promises.js': `const { setTimeout: sleep, setImmediate: tick } = require('timers/promises');
(async () => { await tick(); await sleep(30); ${HEAD} process.stdout.write('slept'); })();`,
  'addon.js': `require(process.env.ADDON).later(() => { ${HEAD} process.stdout.write('LATE'); });`,
  'addon-kept.js': `const keep = setInterval(() => {}, 1000);
require(process.env.ADDON).later(() => { clearInterval(keep); ${HEAD} process.stdout.write('late, kept by a timer'); });`,
  'hello.js': `${HEAD} process.stdout.write('hello');`,
};

const suite = usePeerSuite(scripts);
let addon = '';
let peer: RuntimePeer;

beforeAll(async () => {
  addon = await buildLaterAddon(suite.dir);
  peer = await suite.start('reset', 'reset');
});

function request(script: string, env: Record<string, string> = {}): ReturnType<RuntimePeer['run']> {
  return suite.request(peer, script, { env });
}

describe('node runtime: work Node does not list holds the run open', () => {
  it.each([
    ['pbkdf2.js', 'key 32'],
    ['gzip.js', 'gunzipped 4000000'],
    ['zlib-stream.js', 'streamed 8000000'],
    ['subtle.js', 'digest 32'],
    ['subtle-reject.js', 'rejected NotSupportedError'],
    ['wasm.js', 'compiled true'],
    ['worker-thread.js', 'from thread 42'],
    ['dns-resolve.js', 'answered ECONNREFUSED'],
    ['dns-promises.js', 'answered ECONNREFUSED'],
    ['timers-promises.js', 'slept'],
  ])('%s answers from its callback', async (script, body) => {
    const report = await request(script);
    expect(report).toMatchObject({ status: 200, exitCode: 0 });
    // c-ares may time out rather than be refused where port 1 drops datagrams.
    if (script.startsWith('dns')) expect(report.body).toMatch(/^answered (ECONNREFUSED|ETIMEOUT)$/);
    else expect(report.body).toBe(body);
    expect(report.recycled).toEqual([]);
  });
});

describe("node runtime: a native addon's asynchronous work is not seen", () => {
  it('ends the run before the callback: no CGI head, and the late callback writes nowhere', async () => {
    const report = await request('addon.js', { ADDON: addon });
    expect(report).toMatchObject({ exitCode: 0, outputError: 'ERR_CGI_NO_HEADERS' });
    // The callback comes later, into no request; the next request is not disturbed.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await request('hello.js')).body).toBe('hello');
    expect(peer.output).not.toContain('LATE');
  });

  it('is waited for when the script holds its process open with a timer', async () => {
    const report = await request('addon-kept.js', { ADDON: addon });
    expect(report).toMatchObject({ status: 200, exitCode: 0, body: 'late, kept by a timer' });
  });
});
