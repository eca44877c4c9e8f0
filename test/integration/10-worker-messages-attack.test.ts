// This file implements issue 10's "workers' messages are data, not orders" from the perspective
// of a script in a `node` and in a `handler` pool run as `nobody`: it looks for the supervisor's
// control channel on `process` (send, channel, connected, disconnect, 'message' listeners), then
// writes a `cgi-group` claim naming a root-owned victim process group the test started to every
// descriptor of its process (and to `/proc/self/fd/N` reopened), and kills its own worker. Before,
// the root supervisor SIGKILLed the victim's group when that worker died; now the victim lives,
// and the supervisor logs the refused claim.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { isProcessAlive } from './helpers/processes.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const isRoot = process.getuid?.() === 0;

/** The attack, shared by the node script and the handler: returns what it saw, then kills its worker. */
const ATTACK = `
const fs = require('fs');
function attack(victim, mode) {
  const claim = { type: 'cgi-group', requestId: 1, pgid: victim, persistent: true };
  const seen = {
    send: typeof process.send, channel: typeof process.channel, connected: typeof process.connected,
    disconnect: typeof process.disconnect, messageListeners: process.listenerCount('message'),
    channelFd: process.env.NODE_CHANNEL_FD === undefined ? 'unset' : 'set',
  };
  if (mode !== 'attack') return seen;
  try { process.send(claim); seen.sent = true; } catch (e) { seen.sendError = String(e.message); }
  const line = JSON.stringify(claim) + '\\n';
  const written = [];
  // Every socket of the process (the FastCGI channels and the control channel are sockets;
  // garbage written into libuv's own pipes would only crash the worker before the claim is out).
  const target = (fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch { return ''; } };
  const sockets = fs.readdirSync('/proc/self/fd').map(Number)
    .filter((fd) => fd > 2 && target(fd).startsWith('socket:'))
    .sort((a, b) => b - a);
  for (const fd of sockets) {
    try { fs.writeSync(fd, line); written.push(fd); } catch {}
    try { const again = fs.openSync('/proc/self/fd/' + fd, 'w'); fs.writeSync(again, line); } catch {}
  }
  seen.written = written;
  setTimeout(() => { process.kill(process.pid, 'SIGKILL'); }, 300);
  return seen;
}
`;

const NODE_SCRIPT = `${ATTACK}
const [victim, mode] = process.env.QUERY_STRING.split('-');
const seen = attack(Number(victim), mode);
process.stdout.write('Content-Type: application/json\\r\\n\\r\\n' + JSON.stringify(seen));
`;

const HANDLER = `${ATTACK}
module.exports = (req, res) => {
  const [victim, mode] = req.url.split('?')[1].split('-');
  const seen = attack(Number(victim), mode);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(seen));
};
`;

describe('10: worker messages, the suite runs as root', () => {
  it.skipIf(!isRoot && process.env.CI === undefined)('is root (the pools run as nobody)', () => {
    expect(process.getuid?.(), 'test/integration/10-worker-messages-attack: run as root: its pools run as nobody').toBe(0);
  });
});

describe.runIf(isRoot)('10: a script in a node or handler pool run as nobody attacks the control channel', () => {
  let dir: TempDir;
  let daemon: Daemon;
  let victim: ChildProcess;
  beforeAll(async () => {
    dir = await createTempDir();
    await writeFile(join(dir.path, 'attack.js'), NODE_SCRIPT, { mode: 0o755 });
    await writeFile(join(dir.path, 'handler.cjs'), HANDLER, { mode: 0o644 });
    // The victim: a root-owned process leading its own group, nothing to do with any pool.
    victim = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
    const config = `[pools.node]
listen = "${join(dir.path, 'node.sock')}"
root = "${dir.path}"
match = ["*.js"]
runtime = "node"
user = "nobody"
"pm.max_children" = 1

[pools.handler]
listen = "${join(dir.path, 'handler.sock')}"
root = "${dir.path}"
runtime = "handler"
"handler.module" = "${join(dir.path, 'handler.cjs')}"
user = "nobody"
"pm.max_children" = 1
`;
    daemon = await startDaemon({ dir: dir.path, config });
  });
  afterAll(async () => {
    await daemon.stop();
    victim.kill('SIGKILL');
    await dir.remove();
  });

  for (const pool of ['node', 'handler'] as const) {
    it(`${pool}: the channel is not on process, and a forged cgi-group claim kills nothing`, async () => {
      const pgid = victim.pid ?? 0;
      expect(isProcessAlive(pgid)).toBe(true);
      const socketPath = join(dir.path, `${pool}.sock`);
      const params = (mode: string) => nginxLikeParams(dir.path, '/attack.js', {
        QUERY_STRING: `${String(pgid)}-${mode}`, REQUEST_URI: `/attack.js?${String(pgid)}-${mode}`,
      });
      const look = await fcgiRequest({ socketPath, params: params('look') });
      const body = look.stdout.toString('utf8');
      const seen = JSON.parse(body.slice(body.indexOf('{'))) as Record<string, unknown>;
      expect(seen).toEqual({
        send: 'undefined', channel: 'undefined', connected: 'undefined', disconnect: 'undefined',
        messageListeners: 0, channelFd: 'unset',
      });

      const since = daemon.logs.length;
      // The worker dies of the attack (its own SIGKILL, or the supervisor's for garbage on the
      // FastCGI channel): the answer may be a 502 or a closed connection; both are fine here.
      await fcgiRequest({ socketPath, params: params('attack'), timeoutMs: EVENT_TIMEOUT_MS }).catch(() => undefined);
      const refused = await daemon.waitForLog((e) => e.msg === 'cgi group refused' && e.pgid === String(pgid), EVENT_TIMEOUT_MS, since);
      expect(refused).toMatchObject({ pool, reason: `a ${pool} worker starts no process group` });
      await daemon.waitForLog((e) => e.msg === 'worker exited' && e.pool === pool, EVENT_TIMEOUT_MS, since);
      // The pool is back (a new worker answers), and the victim's group was never signalled.
      const after = await fcgiRequest({ socketPath, params: params('look') });
      expect(after.stdout.toString('utf8')).toContain('"send":"undefined"');
      expect(isProcessAlive(pgid)).toBe(true);
      expect(victim.exitCode).toBeNull();
      expect(victim.signalCode).toBeNull();
    });
  }
});
