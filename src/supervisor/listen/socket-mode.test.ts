// This file implements the tests of socket-mode.ts and socket-in-use.ts from the perspective
// of a unix socket file: born with the mode asked for whatever the umask, and told live, stale
// or absent (with its owner's pid) before anything replaces it.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonError, ErrorCode } from '../../errors.ts';
import { assertSocketFree, probeUnixSocket, socketOwnerPid } from './socket-in-use.ts';
import { bindWithMode } from './socket-mode.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0)) await clean();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-sock-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function closeLater(server: Server): void {
  cleanups.push(() => new Promise((resolve) => { server.close(() => { resolve(); }); }));
}

describe('bindWithMode', () => {
  it('creates the socket file with the mode asked, not the umask\'s, and restores the umask', async () => {
    const path = join(await tempDir(), 's.sock');
    const previous = process.umask(0);
    try {
      const server = createServer();
      closeLater(server);
      bindWithMode(0o600, () => server.listen(path));
      // Checked before 'listening': the file exists from the synchronous bind on.
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(process.umask(0)).toBe(0);
    } finally {
      process.umask(previous);
    }
  });
});

describe('probeUnixSocket, assertSocketFree', () => {
  it('tells a live socket (and its pid), a stale file and no file apart', async () => {
    const dir = await tempDir();
    const live = join(dir, 'live.sock');
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => { server.listen(live, resolve); });
    const absent = join(dir, 'absent.sock');
    expect(await probeUnixSocket(live)).toBe('live');
    expect(await probeUnixSocket(absent)).toBe('absent');
    expect(await assertSocketFree(absent)).toBe(false);
    // Our own pid is skipped (a daemon never finds itself): a child holds the next one.
    expect(await socketOwnerPid(live)).toBeUndefined();
    const err = await assertSocketFree(live).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe(ErrorCode.ERR_SOCKET_IN_USE);
    // Closing a listener leaves no file; a stale one is what a killed daemon leaves.
    await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
    expect(await probeUnixSocket(live)).toBe('absent');
  });
});
