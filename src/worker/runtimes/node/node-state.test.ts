// This file implements the node runtime's state-leak tests from the perspective of the next
// user's request: for every row of docs/ISOLATION-node.md's table, one request changes that
// state and the next one looks for it — never seen under `state.globals = "reset"`, seen under
// "keep" unless the row belongs to the script's own process; and what cannot be put back gets
// the worker replaced.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectRestored, HEAD, usePeerSuite, type RunReport, type RuntimePeer } from './node-harness-test-peer.ts';
import { ALWAYS_RESET, readProbe, STATE_PROBES, stateProbeScript, type StateProbe } from './state-probes-test-peer.ts';

const scripts: Record<string, string> = {
  'state.js': stateProbeScript(),
  'hello.js': `${HEAD} process.stdout.write('hello');`,
  'freeze.js': `${HEAD} Object.freeze(JSON); process.stdout.write('frozen');`,
  'server-exit.js': `${HEAD} require('net').createServer().listen(0, '127.0.0.1', () => { process.stdout.write('listening'); process.exit(0); });`,
  'child-exit.js': `${HEAD} const child = require('child_process').spawn('sleep', ['30']);
process.stdout.write(String(child.pid)); process.exit(0);`,
};

const ROWS = Object.keys(STATE_PROBES) as StateProbe[];
const suite = usePeerSuite(scripts);

function startPeer(policy: 'reset' | 'keep'): Promise<RuntimePeer> {
  return suite.start(policy, policy);
}

function probe(peer: RuntimePeer, query: string): Promise<RunReport> {
  return suite.request(peer, 'state.js', { env: { QUERY_STRING: query } });
}

describe('node runtime state (state.globals = reset, state.modules = reset)', () => {
  let peer: RuntimePeer;
  beforeAll(async () => {
    peer = await startPeer('reset');
  });

  it.each(ROWS)('%s: the change is not seen by the next request', async (row) => {
    const set = await probe(peer, `set=${row}`);
    expect(set.status).toBe(200);
    expect(set.body).toContain(`set=${row}`);
    const next = await probe(peer, `check=${row}`);
    expect(readProbe(next.body).seen).toBe(false);
    expect(next.recycled).toEqual([]);
    expectRestored(next);
  });

  it("never wrote to the worker's own stdout or stderr", () => {
    expect(peer.output).toBe('');
  });
});

describe('node runtime state (state.globals = keep, state.modules = keep)', () => {
  // One worker per row: under keep a change stays, and some would break the rows after it.
  it.each(ROWS)('%s: kept unless it belongs to the script\'s own process', async (row) => {
    const peer = await startPeer('keep');
    await probe(peer, `set=${row}`);
    const next = await probe(peer, `check=${row}`);
    expect(readProbe(next.body).seen).toBe(!ALWAYS_RESET.has(row));
    expect(next.recycled).toEqual([]);
    await peer.stop();
  });
});

describe('node runtime: what cannot be put back replaces the worker', () => {
  it('a frozen built-in: recycle asked before the request ends, later requests refused with 503', async () => {
    const peer = await startPeer('reset');
    const frozen = await suite.request(peer, 'freeze.js');
    expect(frozen).toMatchObject({ status: 200, body: 'frozen' });
    expect(frozen.recycled).toHaveLength(1);
    expect(frozen.recycled[0]).toContain('JSON: made non-extensible');
    const recycling = frozen.logged.find((line) => line.msg === 'worker recycling');
    expect(recycling).toMatchObject({ level: 'warn', fields: { reason: frozen.recycled[0] } });
    const after = await suite.request(peer, 'hello.js');
    expect(after.status).toBe(503);
    expect(after.headers).toContainEqual(['Retry-After', '1']);
    expect(after.logged).toContainEqual(expect.objectContaining({ msg: 'request refused: worker recycling' }));
  });

  it('a server still listening after process.exit: recycle, naming it', async () => {
    const peer = await startPeer('reset');
    const report = await suite.request(peer, 'server-exit.js');
    expect(report).toMatchObject({ status: 200, body: 'listening', exitCode: 0 });
    expect(report.recycled).toEqual([expect.stringContaining('left running: TCPServerWrap')]);
  });

  it('a child process still running after process.exit is killed, and needs no recycle', async () => {
    const peer = await startPeer('reset');
    const report = await suite.request(peer, 'child-exit.js');
    const pid = Number(report.body);
    expect(pid).toBeGreaterThan(0);
    expect(report.recycled).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect((await suite.request(peer, 'hello.js')).body).toBe('hello');
  });

  it('under keep, a frozen built-in stays and the worker serves on', async () => {
    const peer = await startPeer('keep');
    expect((await suite.request(peer, 'freeze.js')).recycled).toEqual([]);
    expect((await suite.request(peer, 'hello.js')).body).toBe('hello');
  });
});
