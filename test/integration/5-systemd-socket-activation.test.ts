// This file implements socket activation from the perspective of an operator whose .socket
// units own the sockets: under `systemd-socket-activate` with two named unix sockets, two pools
// on `systemd:a` and `systemd:b` serve a real nginx through them; the scripts inherit neither
// the sockets nor LISTEN_*; a reload that drops a socket keeps it open (404) and a later one
// takes it back; the socket files outlive the daemon; and sockets and config that disagree
// stop the start with exit 70, naming the socket.
import { chmod, mkdir, realpath, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfigFile, type TomlDocument } from './helpers/config-file.ts';
import { READY_MESSAGE, type Daemon } from './helpers/daemon.ts';
import { httpRequest } from './helpers/http.ts';
import { startNginx, type Nginx } from './helpers/nginx.ts';
import { activatedSite, poke, socketSpecs, startActivated } from './helpers/socket-activate.ts';
import { SCRIPT_PATH } from './helpers/stack.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

/** Prints its pool, the variables a leak would show, and every fd above 2 that is a socket. */
const ENV_SCRIPT = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "pool=$POOL_TAG"
echo "LISTEN_FDS=\${LISTEN_FDS-unset} LISTEN_PID=\${LISTEN_PID-unset} LISTEN_FDNAMES=\${LISTEN_FDNAMES-unset}"
echo "mark=\${SA_MARK-unset}"
for f in /proc/$$/fd/*; do
  n=\${f##*/}
  case "$(readlink "$f")" in socket:*) [ "$n" -gt 2 ] && echo "leaked fd $n";; esac
done
exit 0
`;

function pool(root: string, name: string): TomlDocument {
  return {
    listen: `systemd:${name}`,
    root: join(root, name),
    match: ['*.sh'],
    runtime: 'exec',
    pm: { max_children: 1 },
    clear_env: false,
    env: { POOL_TAG: name, PATH: SCRIPT_PATH },
  };
}

let tmp: TempDir;
let dir: string;
let www: string;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-sa-');
  dir = await realpath(tmp.path);
  www = join(dir, 'www');
  for (const name of ['a', 'b']) {
    await mkdir(join(www, name), { recursive: true });
    await writeFile(join(www, name, 'env.sh'), ENV_SCRIPT);
    await chmod(join(www, name, 'env.sh'), 0o755);
  }
});

afterAll(async () => {
  await tmp.remove();
});

describe('socket activation (systemd-socket-activate)', () => {
  it('serves two pools through two named sockets, keeps them across reloads, leaks nothing', async () => {
    const sockets = socketSpecs(dir, ['a', 'b']);
    const both = { global: { log_level: 'info' }, pools: { a: pool(www, 'a'), b: pool(www, 'b') } };
    let daemon: Daemon | undefined;
    let nginx: Nginx | undefined;
    try {
      daemon = await startActivated({ dir, config: both, sockets, setenv: ['SA_MARK=through'] });
      const httpSocket = join(dir, 'http.sock');
      nginx = await startNginx({
        dir: join(dir, 'nginx'),
        httpSocket,
        site: activatedSite(httpSocket, www, sockets),
      });
      const get = (path: string) => httpRequest({ socketPath: httpSocket, path });

      // The first connection starts the daemon: it waits in the socket's queue meanwhile.
      const first = await get('/a/env.sh');
      await daemon.waitForLog((e) => e.msg === READY_MESSAGE, 15_000);
      const second = await get('/b/env.sh');
      const clean = 'LISTEN_FDS=unset LISTEN_PID=unset LISTEN_FDNAMES=unset\nmark=through\n';
      expect([first.status, first.text]).toEqual([200, `pool=a\n${clean}`]);
      expect([second.status, second.text]).toEqual([200, `pool=b\n${clean}`]);
      const listening = daemon.logs.filter((e) => e.msg === 'listening').map((e) => e.listen);
      expect(listening).toEqual(['systemd:a', 'systemd:b']);

      // A reload without pool b keeps socket b open, answering 404; a reload naming it takes it back.
      let since = daemon.logs.length;
      await writeConfigFile(daemon.configFile, { global: both.global, pools: { a: pool(www, 'a') } });
      process.kill(daemon.pid, 'SIGHUP');
      await daemon.waitForLog((e) => e.msg === 'reloaded', EVENT_TIMEOUT_MS, since);
      expect(daemon.logs.slice(since)).toContainEqual(
        expect.objectContaining({
          msg: 'no pool listens on this systemd socket any more, kept open',
          listen: 'systemd:b',
          fd: 4,
        }),
      );
      expect((await get('/b/env.sh')).status).toBe(404);
      expect((await get('/a/env.sh')).status).toBe(200);
      since = daemon.logs.length;
      await writeConfigFile(daemon.configFile, both);
      process.kill(daemon.pid, 'SIGHUP');
      await daemon.waitForLog((e) => e.msg === 'reloaded', EVENT_TIMEOUT_MS, since);
      expect((await get('/b/env.sh')).text).toBe(`pool=b\n${clean}`);
      expect(daemon.logs.filter((e) => e.msg === 'listening')).toHaveLength(2);

      expect(await daemon.stop()).toBe(0);
      // The sockets are systemd's: the daemon closes its fds but never removes the files.
      expect(sockets.map((s) => existsSync(s.path))).toEqual([true, true]);
    } finally {
      await nginx?.stop();
      await daemon?.stop();
    }
  });

  it.each([
    [
      'a passed socket no pool listens on',
      ['a'],
      ['a', 'b'],
      ['systemd: socket "b" (fd 4) passed but no pool listens on systemd:b'],
    ],
    [
      'a pool on a socket that was not passed',
      ['a', 'c'],
      ['a'],
      ['systemd: no socket named "c" was passed, but a pool listens on systemd:c (passed: "a" (fd 3))'],
    ],
  ])('refuses to start, exit 70: %s', async (_what, poolNames, passedNames, messages) => {
    const socketDir = join(dir, `bad-${poolNames.join('')}`);
    await mkdir(socketDir, { recursive: true });
    const sockets = socketSpecs(socketDir, passedNames);
    // Every pool serves www/a: only the socket names differ.
    const pools = Object.fromEntries(
      poolNames.map((name) => [name, { ...pool(www, 'a'), listen: `systemd:${name}` }]),
    );
    const daemon = await startActivated({ dir, config: { pools }, sockets });
    try {
      await poke(sockets[0]?.path ?? '');
      const status = await daemon.exited;
      expect(status.code).toBe(70);
      const fatal = daemon.logs.find((e) => e.msg === 'failed to start');
      expect(fatal).toMatchObject({ code: 'ERR_LISTEN_FDS', err: messages.join('\n') });
      expect(daemon.logs.some((e) => e.msg === 'listening')).toBe(false);
    } finally {
      await daemon.stop();
    }
  });
});
