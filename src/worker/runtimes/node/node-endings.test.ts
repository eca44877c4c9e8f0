// This file implements the node runtime's tests of how a run ends, from the perspective of a
// worker that must answer and serve the next request: when everything the script started has
// finished, on process.exit, on an uncaught exception or rejection (500), and on an abort — and
// nothing the script left behind reaches a later request or the worker's own output.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectRestored, HEAD, usePeerSuite, type RuntimePeer } from './node-harness-test-peer.ts';

/** The scripts, CommonJS as a CGI author writes them. */
const scripts: Record<string, string> = {
  'hello-write.js': String.raw`process.stdout.write('Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n'); process.stdout.write('hello from write');`,
  'big-output.js': `${HEAD}
const block = Buffer.alloc(65536, 'x'); let left = 160, refused = 0;
function more() { while (left > 0) { left--; if (!process.stdout.write(block)) { refused++; process.stdout.once('drain', more); return; } }
  process.stderr.write('refused ' + refused + '\\n'); }
more();`,
  'timer.js': `${HEAD} process.stdout.write('now;'); setTimeout(() => process.stdout.write('after 10 ms'), 10);`,
  'timer-only.js': `setTimeout(() => { ${HEAD} console.log('all of it after 10 ms'); }, 10);`,
  'child.js': `require('child_process').execFile('echo', ['from a child'], (err, out) => { ${HEAD} process.stdout.write(out); });`,
  'fs-promises.js': `(async () => { const text = await require('fs').promises.readFile(__filename, 'utf8');
  ${HEAD} process.stdout.write('read ' + text.length); })();`,
  'server.js': `const http = require('http');
const server = http.createServer((req, res) => res.end('pong')).listen(0, '127.0.0.1', () => {
  http.get({ host: '127.0.0.1', port: server.address().port, agent: false }, (res) => { let body = '';
    res.on('data', (c) => body += c); res.on('end', () => { server.close(); ${HEAD} process.stdout.write('got ' + body); }); });
});`,
  'unref.js': `${HEAD} setInterval(() => process.stdout.write('NEVER'), 1000).unref(); process.stdout.write('done');`,
  'sync-crypto.js': `${HEAD} process.stdout.write(require('crypto').randomBytes(4).length + ' ' + require('zlib').gzipSync('x').length);`,
  'exit.js': `${HEAD} process.stdout.write('before exit'); setTimeout(() => process.stdout.write('LATE'), 30); process.exit(3); process.stdout.write('NEVER');`,
  'exit-in-timer.js': `${HEAD} setInterval(() => process.stdout.write('tick;'), 1);
setTimeout(() => { process.stdout.write('exiting'); process.exit(4); }, 15);`,
  'throw.js': `console.error('about to fail'); throw new Error('boom sync');`,
  'throw-async.js': `setTimeout(() => { throw new Error('boom async'); }, 5);`,
  'reject.js': `(async () => { await null; throw new Error('boom rejected'); })();`,
  'throw-after-output.js': `${HEAD} process.stdout.write('partial'); setTimeout(() => { throw new Error('late boom'); }, 5);`,
  'syntax.js': `${HEAD}\nlet x = ;\n`,
  'nothing.js': `// writes nothing at all\n`,
  'exit-in-main.js': `async function main() { await null; ${HEAD} process.stdout.write('main done'); process.exit(0); }
main().catch((err) => { console.error('caught', err); process.exit(1); });`,
  'own-handler.js': `process.on('uncaughtException', (err) => {
  process.stdout.write('Status: 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\nhandled: ' + err.message); });
setTimeout(() => { throw new Error('handled by the script'); }, 1);`,
  'ignore-body.js': `${HEAD} process.stdout.write('did not read the body');`,
  'after-end.js': `${HEAD} process.stdout.end('ended'); setTimeout(() => process.stdout.write('AFTER END', () => {}), 5);`,
  'stale-callback.js': `${HEAD} process.stdout.write('exiting');
require('fs').readFile(__filename, () => { process.stdout.write('STALE'); console.log('STALE'); console.error('STALE'); });
process.exit(0);`,
  'bad-require.js': `require('./lib/explodes.js');`,
  'lib/explodes.js': `throw new Error('helper failed to load');`,
  'dynamic-import.js': `import('node:path').then((path) => { ${HEAD} process.stdout.write(path.basename(__filename)); });`,
  'interval.js': `${HEAD} process.stdout.write('forever'); setInterval(() => {}, 5);`,
};

const suite = usePeerSuite(scripts);
const startPeer = suite.start;
const request = suite.request;

describe('node runtime: how a run ends', () => {
  let peer: RuntimePeer;
  beforeAll(async () => {
    peer = await startPeer('reset', 'reset');
  });

  it('waits for what the script started: a 10 ms timer, a child process, fs promises, a local http round trip', async () => {
    expect((await request(peer, 'timer.js')).body).toBe('now;after 10 ms');
    expect((await request(peer, 'timer-only.js')).body).toBe('all of it after 10 ms\n');
    expect((await request(peer, 'child.js')).body).toBe('from a child\n');
    expect((await request(peer, 'fs-promises.js')).body).toBe(`read ${scripts['fs-promises.js']?.length}`);
    expect((await request(peer, 'server.js')).body).toBe('got pong');
  });

  it("ends promptly when only unref'd or synchronous work is left", async () => {
    const unref = await request(peer, 'unref.js');
    expect(unref.body).toBe('done');
    expect(unref.elapsedMs).toBeLessThan(900);
    const sync = await request(peer, 'sync-crypto.js');
    expect(sync.body).toMatch(/^4 \d+$/);
    expect(sync.elapsedMs).toBeLessThan(900);
  });

  it('process.exit(code) keeps the output so far and stops the pending timers', async () => {
    const report = await request(peer, 'exit.js');
    expect(report).toMatchObject({ exitCode: 3, status: 200, body: 'before exit' });
    const inTimer = await request(peer, 'exit-in-timer.js');
    expect(inTimer.exitCode).toBe(4);
    expect(inTimer.body).toMatch(/^(tick;)+exiting$/);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const next = await request(peer, 'hello-write.js');
    expect(next.body).toBe('hello from write');
    expect(peer.output).not.toMatch(/LATE|tick/);
    expectRestored(next);
  });

  it("unwinds process.exit() through the script's own catch without logging it or sending more", async () => {
    const report = await request(peer, 'exit-in-main.js');
    expect(report).toMatchObject({ exitCode: 0, status: 200, body: 'main done', stderr: [] });
  });

  it('answers 500 with the stack in the log for an exception, sync or async, and a rejection', async () => {
    const sync = await request(peer, 'throw.js');
    expect(sync).toMatchObject({ status: 500, exitCode: 1 });
    expect(sync.body).toContain('500 Internal Server Error');
    expect(sync.stderr[0]).toBe('about to fail');
    expect(sync.stderr.join('\n')).toMatch(/Error: boom sync\n\s+at .*throw\.js:1/);
    const async = await request(peer, 'throw-async.js');
    expect(async).toMatchObject({ status: 500, exitCode: 1 });
    expect(async.stderr.join('\n')).toContain('Error: boom async');
    const rejected = await request(peer, 'reject.js');
    expect(rejected).toMatchObject({ status: 500, exitCode: 1 });
    expect(rejected.stderr.join('\n')).toContain('Error: boom rejected');
    const syntax = await request(peer, 'syntax.js');
    expect(syntax).toMatchObject({ status: 500, exitCode: 1 });
    expect(syntax.stderr.join('\n')).toContain('SyntaxError');
    expectRestored(syntax);
  });

  it('keeps the response already sent when the script fails after its head', async () => {
    const report = await request(peer, 'throw-after-output.js');
    expect(report).toMatchObject({ status: 200, exitCode: 1, body: 'partial' });
    expect(report.stderr.join('\n')).toContain('late boom');
  });

  it("lets a script's own uncaughtException handler answer, then removes it", async () => {
    const report = await request(peer, 'own-handler.js');
    expect(report).toMatchObject({ status: 503, body: 'handled: handled by the script' });
    expectRestored(report);
  });

  it('answers 500 when a required helper throws while loading; import() works', async () => {
    const report = await request(peer, 'bad-require.js');
    expect(report).toMatchObject({ status: 500, exitCode: 1 });
    expect(report.stderr.join('\n')).toContain('helper failed to load');
    expect((await request(peer, 'dynamic-import.js')).body).toBe('dynamic-import.js');
  });

  it('reports a script that wrote nothing as output without CGI headers', async () => {
    const report = await request(peer, 'nothing.js');
    expect(report).toMatchObject({ exitCode: 0, outputError: 'ERR_CGI_NO_HEADERS' });
    expect(report.status).toBeUndefined();
  });

  it('ends a script that ignores its body, drops writes after process.stdout.end()', async () => {
    const ignored = await request(peer, 'ignore-body.js', { body: { patternBytes: 1 << 20 } });
    expect(ignored).toMatchObject({ exitCode: 0, body: 'did not read the body' });
    const ended = await request(peer, 'after-end.js');
    expect(ended).toMatchObject({ exitCode: 0, body: 'ended' });
  });

  it('sends nothing from callbacks still pending when the script exited', async () => {
    const report = await request(peer, 'stale-callback.js');
    expect(report).toMatchObject({ exitCode: 0, body: 'exiting', stderr: [] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await request(peer, 'hello-write.js')).body).toBe('hello from write');
    expect(peer.output).not.toContain('STALE');
  });

  it('on abort clears an endless setInterval, resolves promptly, and the next request works', async () => {
    const report = await request(peer, 'interval.js', { abortAfterMs: 200 });
    expect(report.exitCode).toBeNull();
    expect(report.elapsedMs).toBeLessThan(1000);
    const next = await request(peer, 'hello-write.js');
    expect(next.body).toBe('hello from write');
    expectRestored(next);
  });

  it('stops promptly when the client goes away during a large slow response', async () => {
    const report = await request(peer, 'big-output.js', { slowClient: true, abortAfterMs: 50 });
    expect(report.exitCode).toBeNull();
    expect(report.elapsedMs).toBeLessThan(1000);
    expect(report.bodyBytes).toBeLessThan(160 * 65536);
    const next = await request(peer, 'hello-write.js');
    expect(next.body).toBe('hello from write');
    expectRestored(next);
  });

  it("never wrote to the worker's own stdout or stderr", () => {
    expect(peer.output).toBe('');
  });
});
