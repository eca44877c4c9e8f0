import { readdirSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RecordType } from '../../../fastcgi/constants.ts';
import { encodeNameValuePairs } from '../../../fastcgi/name-value.ts';
import { encodeRecord } from '../../../fastcgi/record.ts';
import { errorPage } from '../../../cgi/error-page.ts';
import { PythonWorkerPeer, type WorkerPool } from './python-worker-test-peer.ts';
import { scriptDir, type ScriptDir } from './runtime-test-peer.ts';

const HEAD = 'import os, sys\nprint("Content-Type: text/plain")\nprint()\n';
const SCRIPTS: Record<string, string> = {
  'hello.py': `${HEAD}print("hello", os.environ.get("QUERY_STRING", ""))\n`,
  'status.py': 'print("Status: 418 Teapot")\nprint("Location: https://example.org/")\nprint()\n',
  'echo.py': `${HEAD}sys.stdout.flush()\ndata = sys.stdin.buffer.read()\nprint(len(data), data[:3].decode(), data[-3:].decode())\n`,
  'noisy.py': `${HEAD}sys.stderr.write("first line\\nsecond line\\n")\nprint("ok")\n`,
  'nohead.py': 'import os\nos._exit(3)\n',
  'forever.py': 'import time\nwhile True:\n    time.sleep(1)\n',
  'pid.py': `${HEAD}print(os.getpid(), sys.flags.no_site)\n`,
  'nosite.py': `#!/usr/bin/env -S python3 -S\n${HEAD}print(os.getpid(), sys.flags.no_site)\n`,
  'dies.py': `${HEAD}print("part one")\nsys.stdout.flush()\nimport signal\nos.kill(os.getpid(), signal.SIGKILL)\n`,
};

let scripts: ScriptDir;
const peers: PythonWorkerPeer[] = [];

beforeAll(async () => { scripts = await scriptDir(SCRIPTS); });
afterAll(async () => { await scripts.remove(); });
afterEach(() => { for (const peer of peers.splice(0)) peer.kill(); });

async function started(pool: WorkerPool = {}): Promise<PythonWorkerPeer> {
  const peer = new PythonWorkerPeer(pool);
  peers.push(peer);
  await peer.message('ready');
  return peer;
}

/** True once no process of group `pgid` is left (the kill is sent before the worker exits). */
function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
}

function params(script: string, more: Record<string, string> = {}): Record<string, string> {
  return { SCRIPT_FILENAME: scripts.path(script), REQUEST_METHOD: 'GET', QUERY_STRING: '', ...more };
}

// Each test starts python twice (worker and runner): slow on a loaded machine, hence the bound.
describe('the python worker (worker.py) on the supervisor\'s channel', { timeout: 60_000 }, () => {
  it('answers a CGI script with the normalized head, its body and END_REQUEST, and logs the request', async () => {
    const peer = await started();
    const reply = await peer.reply(peer.begin(params('hello.py', { QUERY_STRING: 'a=1' })));
    expect(reply.stdout.toString()).toBe('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello a=1\n');
    expect([...reply.end]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    await peer.until(() => peer.logged('request').length > 0);
    expect(peer.logged('request')[0]).toMatchObject({ pool: 'py', script: scripts.path('hello.py'), status: 200 });
  });

  it('reads Status and an absolute Location as the Node worker does', async () => {
    const peer = await started();
    expect(await peer.get(params('status.py'))).toBe('Status: 418 Teapot\r\nLocation: https://example.org/\r\n\r\n');
  });

  it('reports its runner\'s process group once, as persistent', async () => {
    const peer = await started();
    await peer.get(params('pid.py'));
    const text = await peer.get(params('pid.py'));
    const groups = peer.messages.filter((m) => m.type === 'cgi-group');
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ requestId: 1, persistent: true });
    expect(text).toContain(`\r\n\r\n${String(groups[0]?.pgid)} 0\n`);
  });

  it('runs a script whose #! names other interpreter flags in a runner of its own', async () => {
    const peer = await started();
    const plain = (await peer.get(params('pid.py'))).split('\r\n\r\n')[1] ?? '';
    const other = (await peer.get(params('nosite.py'))).split('\r\n\r\n')[1] ?? '';
    expect(other.split(' ')[1]).toBe('1\n');
    expect(plain.split(' ')[1]).toBe('0\n');
    expect(other.split(' ')[0]).not.toBe(plain.split(' ')[0]);
  });

  it('streams a 300 000-byte body to the script\'s stdin', async () => {
    const peer = await started();
    const body = Buffer.alloc(300_000, 'x');
    body.write('abc', 0);
    body.write('xyz', body.length - 3);
    const text = await peer.get(params('echo.py', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '300000' }), body);
    expect(text.endsWith('\r\n\r\n300000 abc xyz\n')).toBe(true);
  });

  it('logs stderr by line, and forwards it as FCGI_STDERR with stderr = "forward"', async () => {
    const peer = await started({ stderr: 'forward' });
    const reply = await peer.reply(peer.begin(params('noisy.py')));
    expect(reply.stderr.toString()).toBe('first line\nsecond line\n');
    expect(peer.logged('cgi stderr').map((e) => e.line)).toEqual(['first line', 'second line']);
  });

  it('answers 502 with the daemon\'s page when the script wrote no head, then serves the next request', async () => {
    const peer = await started();
    const reply = await peer.reply(peer.begin(params('nohead.py')));
    expect(reply.stdout.equals(errorPage(502))).toBe(true);
    await peer.until(() => peer.logged('no cgi headers').length > 0);
    expect(peer.logged('no cgi headers')[0]).toMatchObject({ code: 'ERR_CGI_NO_HEADERS', exitCode: 3 });
    expect(await peer.get(params('hello.py'))).toContain('hello');
  });

  it('keeps no descriptor of a runner that died (three runners replaced, the same open fds)', async () => {
    const peer = await started();
    await peer.get(params('hello.py'));
    // Each script's checked descriptor is kept (KeptScripts): nohead.py's is opened before
    // counting, and counted with a live runner (hello.py after the death), as at the end.
    expect(await peer.get(params('nohead.py'))).toContain('502 Bad Gateway');
    await peer.get(params('hello.py'));
    const before = readdirSync(`/proc/${String(peer.child.pid)}/fd`).length;
    for (let i = 0; i < 3; i++) expect(await peer.get(params('nohead.py'))).toContain('502 Bad Gateway');
    await peer.get(params('hello.py'));
    expect(readdirSync(`/proc/${String(peer.child.pid)}/fd`).length).toBe(before);
  });

  it('keeps a body in order while the runner it waits for starts (the channel is not read meanwhile)', async () => {
    const peer = await started();
    expect(await peer.get(params('nohead.py'))).toContain('502 Bad Gateway');
    const body = Buffer.alloc(300_000, 'm');
    body.write('abc', 0);
    body.write('xyz', body.length - 3);
    const text = await peer.get(params('echo.py', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '300000' }), body);
    expect(text.endsWith('\r\n\r\n300000 abc xyz\n')).toBe(true);
  });

  it('answers 504 at request_terminate_timeout (the runner\'s group killed), then serves the next request', async () => {
    const peer = await started({ requestTerminateTimeoutMs: 300 });
    const reply = await peer.reply(peer.begin(params('forever.py')));
    expect(reply.stdout.equals(errorPage(504))).toBe(true);
    expect(peer.logged('request timeout')[0]).toMatchObject({ signal: 'SIGKILL' });
    expect(await peer.get(params('hello.py'))).toContain('hello');
  });

  it('kills the script on FCGI_ABORT_REQUEST and ends the request without a page', async () => {
    const peer = await started();
    const id = peer.begin(params('forever.py'));
    await peer.message('cgi-group');
    peer.write(encodeRecord(RecordType.FCGI_ABORT_REQUEST, id));
    const reply = await peer.reply(id);
    expect(reply.stdout.length).toBe(0);
    await peer.until(() => peer.logged('request').length > 0);
    expect(peer.logged('request')[0]).toMatchObject({ aborted: true });
  });

  it('answers FCGI_GET_VALUES: one connection, one request, no multiplexing', async () => {
    const peer = await started();
    const names = encodeNameValuePairs([['FCGI_MAX_CONNS', ''], ['FCGI_MPXS_CONNS', '']]);
    peer.write(encodeRecord(RecordType.FCGI_GET_VALUES, 0, names));
    const reply = await peer.management();
    expect(reply.type).toBe(RecordType.FCGI_GET_VALUES_RESULT);
    expect(reply.content.toString('latin1')).toContain('FCGI_MAX_CONNS1');
    expect(reply.content.toString('latin1')).toContain('FCGI_MPXS_CONNS0');
  });

  it('says start-failed naming python.executable when its runner cannot start', async () => {
    const peer = new PythonWorkerPeer({ python: { executable: '/nonexistent/python3' } });
    peers.push(peer);
    const failed = await peer.message('start-failed');
    expect(failed.message).toMatch(/^runtime: python: cannot start "\/nonexistent\/python3": spawn/u);
    expect((await peer.exited).code).toBe(1);
  });

  it('asks to be recycled past pm.max_memory', async () => {
    const peer = await started({ pm: { maxMemoryBytes: 1024 } });
    await peer.get(params('hello.py'));
    expect(await peer.message('recycle')).toMatchObject({ reason: 'max_memory' });
  });

  it('leaves with code 0 on stop, its runner gone', async () => {
    const peer = await started();
    await peer.get(params('hello.py'));
    const runner = (await peer.message('cgi-group')).pgid as number;
    peer.send({ type: 'stop' });
    expect((await peer.exited).code).toBe(0);
    expect(() => process.kill(runner, 0)).toThrow();
  });

  it('kills its runners\' groups when the supervisor is gone', async () => {
    const peer = await started();
    const id = peer.begin(params('forever.py'));
    const group = (await peer.message('cgi-group')).pgid as number;
    expect(id).toBe(1);
    peer.disconnect();
    expect((await peer.exited).code).toBe(1);
    for (let i = 0; i < 100 && !groupGone(group); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(groupGone(group)).toBe(true);
  });

  it('uses at most 35 MB resident, with its runner, before the script\'s own imports (issue 13)', async () => {
    const peer = await started();
    await peer.get(params('hello.py'));
    const processes = peer.memory();
    expect(processes).toHaveLength(2);
    const total = processes.reduce((sum, p) => sum + p.rssBytes, 0);
    expect(total).toBeLessThanOrEqual(35 * 1024 * 1024);
  });

  it('refuses a script whose path was swapped since it was resolved: 403, script refused, as the Node worker', async () => {
    await mkdir(`${scripts.dir}/real`, { recursive: true });
    await scripts.write('real/inner.py', SCRIPTS['hello.py'] ?? '');
    await symlink(`${scripts.dir}/real`, `${scripts.dir}/swapped`).catch(() => undefined);
    const peer = await started();
    const reply = await peer.reply(peer.begin(params('swapped/inner.py')));
    expect(reply.stdout.toString()).toBe(errorPage(403).toString());
    await peer.until(() => peer.logged('script refused').length > 0);
    expect(String(peer.logged('script refused')[0]?.reason))
      .toBe(`changed since it was resolved: the path now leads to ${scripts.dir}/real/inner.py`);
    const gone = await peer.reply(peer.begin(params('gone.py')));
    expect(gone.stdout.toString()).toBe(errorPage(404).toString());
    // The runner never saw either: the next request runs in the same one.
    expect(await peer.get(params('hello.py'))).toContain('hello');
  });

  it('ends a response cut by its runner\'s death with protocolStatus CHANNEL_REQUEST_FAILED and logs it failed', async () => {
    const peer = await started();
    const reply = await peer.reply(peer.begin(params('dies.py')));
    expect(reply.stdout.toString()).toContain('part one');
    // appStatus 0, protocolStatus 0xff (worker/ipc.ts CHANNEL_REQUEST_FAILED).
    expect([...reply.end.subarray(0, 5)]).toEqual([0, 0, 0, 0, 0xff]);
    await peer.until(() => peer.logged('request').length > 0);
    expect(peer.logged('response incomplete')[0]).toMatchObject({ signal: 'SIGKILL' });
    expect(peer.logged('request')[0]).toMatchObject({ status: 'failed', httpStatus: 200 });
    expect(await peer.get(params('hello.py'))).toContain('hello');
  });

  it('names a runner\'s group again when a request runs in another runner than the last one named; one pid key per log line', async () => {
    const peer = await started();
    for (const script of ['pid.py', 'pid.py', 'nosite.py', 'nosite.py', 'pid.py']) await peer.get(params(script));
    // The claim travels on the control channel, the reply on fd 3: wait for the last claim.
    const claims = (): unknown[] => peer.messages.filter((m) => m.type === 'cgi-group').map((m) => m.pgid);
    await peer.until(() => claims().length >= 3);
    const groups = claims();
    expect(groups).toHaveLength(3);
    expect(groups[0]).toBe(groups[2]);
    expect(groups[1]).not.toBe(groups[0]);
    await peer.until(() => peer.logged('python started').length >= 2);
    expect(peer.logged('python started').map((line) => line.pythonPid)).toEqual(expect.arrayContaining([groups[0], groups[1]]));
    for (const line of peer.logs) expect(line.pid).toBe(peer.child.pid);
  });
});
