// This file implements socket activation from the perspective of a test that plays systemd:
// `systemd-socket-activate` binds named unix sockets, starts the built daemon on the first
// connection with them as fds 3, 4, … (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), and a real
// nginx routes one URL prefix to each socket.
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { TomlDocument } from './config-file.ts';
import { startDaemon, type Daemon } from './daemon.ts';
import { NGINX_FASTCGI_PARAMS } from './paths.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

/** One socket systemd passes: its name (`FileDescriptorName=`) and path. */
export interface PassedSocketSpec {
  readonly name: string;
  readonly path: string;
}

/** Options for {@link startActivated}. */
export interface ActivatedOptions {
  readonly dir: string;
  readonly config: TomlDocument;
  readonly sockets: readonly PassedSocketSpec[];
  /** `NAME=VALUE` passed with `-E` (systemd-socket-activate passes little else). */
  readonly setenv?: readonly string[];
}

/**
 * Runs `systemd-socket-activate -l PATH… --fdname=A:B… -E … node main.js start -c FILE` and
 * resolves once every socket is bound. The daemon itself starts on the first connection.
 */
export async function startActivated(options: ActivatedOptions): Promise<Daemon> {
  const launcher = ['systemd-socket-activate'];
  for (const socket of options.sockets) launcher.push('-l', socket.path);
  launcher.push(`--fdname=${options.sockets.map((s) => s.name).join(':')}`);
  for (const assignment of options.setenv ?? []) launcher.push('-E', assignment);
  const daemon = await startDaemon({ dir: options.dir, config: options.config, launcher, awaitReady: false });
  let exited = false;
  void daemon.exited.then(() => {
    exited = true;
  });
  try {
    await waitUntil(
      'systemd-socket-activate listening',
      () => {
        if (exited) throw new Error(`systemd-socket-activate exited: ${daemon.output()}`);
        return options.sockets.every((s) => existsSync(s.path));
      },
      EVENT_TIMEOUT_MS,
    );
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}

/** Connects to `path` and hangs up: enough for systemd-socket-activate to start the daemon. */
export function poke(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * The nginx site: `location /NAME/` passes to the socket NAME, with `root` as document root,
 * so `/a/env.sh` runs `ROOT/a/env.sh` through socket `a`.
 */
export function activatedSite(
  httpSocket: string,
  root: string,
  sockets: readonly PassedSocketSpec[],
): string {
  const locations = sockets
    .map(
      (s) => `
    location /${s.name}/ {
        include ${NGINX_FASTCGI_PARAMS};
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:${s.path};
    }`,
    )
    .join('\n');
  return `
server {
    listen unix:${httpSocket};
    server_name localhost;
    root ${root};
${locations}
}
`;
}

/** The socket specs for names `a`, `b`, … in `dir`. */
export function socketSpecs(dir: string, names: readonly string[]): PassedSocketSpec[] {
  return names.map((name) => ({ name, path: join(dir, `${name}.sock`) }));
}
