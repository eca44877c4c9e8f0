// This file implements issue 10 item 6 from the perspective of an operator who runs
// `cgi-fpm start` a second time on the config of a running daemon: the second daemon unlinked
// the live pool and control sockets and took over, and the first ran on, unreachable. Now the
// second start exits 78 naming the live socket and the pid holding it, and the first serves on
// its sockets; a socket file nobody listens on (a daemon killed with SIGKILL leaves one) is
// still replaced.
import { spawnSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { runCli } from './helpers/cli.ts';
import { CONTROL_GLOBAL, controlSocketIn, daemonStatus } from './helpers/control.ts';
import { startDaemon } from './helpers/daemon.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { writeScript } from './helpers/scripts.ts';
import { createTempDir } from './helpers/temp-dir.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack({ global: CONTROL_GLOBAL });

/** The first daemon answers: HTTP through nginx, and its control socket with its own pid. */
async function firstServes(): Promise<void> {
  const { daemon, dir } = stack();
  expect((await stack().request('/hello.sh')).status).toBe(200);
  expect((await daemonStatus(controlSocketIn(dir))).pid).toBe(daemon.pid);
}

describe('a second cgi-fpm start on a running daemon\'s config', () => {
  it('exits 78 naming the live control socket and the pid; the first serves on', async () => {
    const { daemon, dir, fastcgiSocket } = stack();
    const second = await runCli(['start', '-c', daemon.configFile], dir);
    expect(second.code).toBe(78);
    expect(second.stderr).toContain(controlSocketIn(dir));
    expect(second.stderr).toContain(`pid ${daemon.pid}`);
    expect(second.stderr).toContain('in use');
    expect((await stat(fastcgiSocket)).isSocket()).toBe(true);
    await firstServes();
  });

  it('exits 78 naming a live pool socket when the control socket is another', async () => {
    const { daemon, dir, fastcgiSocket } = stack();
    const text = (await readFile(daemon.configFile, 'utf8')).replace(/^control_socket = .*$/m, 'control_socket = "other.sock"');
    expect(text).toContain('other.sock');
    const other = join(dir, 'other.toml');
    await writeFile(other, text);
    const second = await runCli(['start', '-c', other], dir);
    expect(second.code).toBe(78);
    expect(second.stderr).toContain(fastcgiSocket);
    expect(second.stderr).toContain(`pid ${daemon.pid}`);
    // It cleaned up what it made (its own control socket), and nothing of the first's.
    await expect(stat(join(dir, 'other.sock'))).rejects.toThrow(/ENOENT/);
    await firstServes();
  });
});

describe('a stale socket file', () => {
  it('is replaced: the daemon starts and serves on it', async () => {
    const tmp = await createTempDir('cgi-fpm-stale-');
    try {
      const root = join(tmp.path, 'root');
      await writeScript(root, 'hello.sh', '#!/bin/sh\n# Written by the test.\nprintf \'Content-Type: text/plain\\r\\n\\r\\nhello\\n\'\n');
      const socketPath = join(tmp.path, 'fcgi.sock');
      // A socket file bound and never listened on (what a killed daemon leaves behind).
      const made = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socketPath]);
      expect(made.status).toBe(0);
      expect((await stat(socketPath)).isSocket()).toBe(true);
      const daemon = await startDaemon({
        dir: tmp.path,
        config: { global: { log_level: 'info' }, pools: { main: { listen: socketPath, root, match: ['*.sh'], 'pm.max_children': 1, env: { PATH: '/usr/bin:/bin' } } } },
      });
      try {
        const answer = await fcgiRequest({ socketPath, params: nginxLikeParams(root, '/hello.sh') });
        expect(parseCgiResponse(answer.stdout).status).toBe(200);
      } finally {
        await daemon.stop();
      }
    } finally {
      await tmp.remove();
    }
  });
});
