// This file implements the rest of the signal table (issue 4) from the perspective of an
// operator sending signals to a running daemon behind nginx: SIGUSR1 (reopen logs: cgi-fpm logs
// to stdout, so there is nothing to reopen, but the signal must never kill the daemon) and
// SIGUSR2 (reload, like SIGHUP) both leave it serving.
import { describe, expect, it } from 'vitest';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

const stack = useStack({});

describe('SIGUSR1 and SIGUSR2 on a running daemon', () => {
  it('SIGUSR1 is logged and the daemon keeps serving', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    process.kill(s.daemon.pid, 'SIGUSR1');
    const seen = await s.daemon.waitForLog(
      (e) => e.msg === 'received signal, reopening logs',
      EVENT_TIMEOUT_MS,
      since,
    );
    expect(seen.signal).toBe('SIGUSR1');
    expect((await s.request('/hello.sh')).status).toBe(200);
  });

  it('SIGUSR2 reloads the config, and the daemon keeps serving', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    process.kill(s.daemon.pid, 'SIGUSR2');
    await s.daemon.waitForLog((e) => e.msg === 'reloaded', EVENT_TIMEOUT_MS, since);
    expect((await s.request('/hello.sh')).status).toBe(200);
  });
});
