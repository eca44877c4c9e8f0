// This file implements the two-user deployment under test from the perspective of an issue-5
// suite run as root: system users cgifpm-a and cgifpm-b (created when missing, left behind),
// one pool root each owned by its user with a private 0600 file, the built daemon with pool `a`
// (exec, sh scripts) and pool `b` (python runtime) under those users on their own sockets, and
// a real nginx whose workers run as www-data in front, `/a/…` to pool a and `/b/…` to pool b.
import { execFile, execFileSync } from 'node:child_process';
import { chown, mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { httpRequest, type HttpResponse } from './helpers/http.ts';
import { startNginx, type Nginx } from './helpers/nginx.ts';
import { NGINX_FASTCGI_PARAMS } from './helpers/paths.ts';
import { SCRIPT_PATH } from './helpers/stack.ts';
import { createTempDir } from './helpers/temp-dir.ts';

/** A system account as /etc/passwd has it. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The account `name` (`getent passwd`), or `undefined` when there is none. */
export function account(name: string): Account | undefined {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const [, , uid, gid] = line.trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** The system user `name` with its own group, created (no home, no shell) when missing. */
export function systemUser(name: string): Account {
  const found = account(name);
  if (found !== undefined) return found;
  execFileSync('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
  const created = account(name);
  if (created === undefined) throw new Error(`users: useradd ${name} left no passwd entry`);
  return created;
}

/** One pool's root, socket and private file. */
export interface UserPool {
  readonly account: Account;
  /** Pool root, owned by the account, mode 0755. */
  readonly root: string;
  readonly socket: string;
  /** `root/private.txt`, owned by the account, mode 0600, holding {@link UserPool.secret}. */
  readonly privateFile: string;
  readonly secret: string;
}

/** The running two-user deployment. */
export interface UsersStack {
  /** The temp dir (0755, root's): config, sockets, both roots, nginx. */
  readonly dir: string;
  readonly a: UserPool;
  readonly b: UserPool;
  readonly daemon: Daemon;
  readonly nginx: Nginx;
  /** A GET through nginx, e.g. `/a/whoami.sh`. */
  get(path: string): Promise<HttpResponse>;
  stop(): Promise<void>;
}

const SH_HEAD = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n";
const PY_HEAD = 'import os, pwd\nprint("Content-Type: text/plain")\nprint()\n';

/** Scripts of pool a (sh, exec): who am I, read the file named by the query, create a file. */
const A_SCRIPTS: Readonly<Record<string, string>> = {
  'whoami.sh': `${SH_HEAD}echo "uid=$(id -u)"\necho "user=$(id -un)"\necho "groups=$(id -G)"\necho "env_user=$USER"\necho "umask=$(umask)"\n`,
  'read.sh': `${SH_HEAD}if out=$(cat -- "$QUERY_STRING" 2>&1); then echo "read ok: $out"; else echo "read failed: $out"; fi\n`,
  'create.sh': `${SH_HEAD}f="$(dirname "$SCRIPT_FILENAME")/created.txt"\nrm -f "$f"\necho made > "$f" && echo "created $f"\n`,
};

/** Scripts of pool b (python runtime): who am I, read the file named by the query. */
const B_SCRIPTS: Readonly<Record<string, string>> = {
  'whoami.py': `${PY_HEAD}print(f"uid={os.getuid()}")\nprint(f"user={pwd.getpwuid(os.getuid()).pw_name}")\nprint("groups=" + " ".join(str(g) for g in sorted(set([os.getgid(), *os.getgroups()]))))\n`,
  'read.py': `${PY_HEAD}path = os.environ.get("QUERY_STRING", "")\ntry:\n    with open(path) as f:\n        print("read ok: " + f.read().strip())\nexcept OSError as e:\n    print(f"read failed: {e}")\n`,
};

async function makePool(dir: string, name: string, user: Account, scripts: Readonly<Record<string, string>>): Promise<UserPool> {
  const root = join(dir, name);
  await mkdir(root, { mode: 0o755 });
  const secret = `secret of pool ${name}`;
  const privateFile = join(root, 'private.txt');
  await writeFile(privateFile, `${secret}\n`, { mode: 0o600 });
  for (const [file, text] of Object.entries(scripts)) await writeFile(join(root, file), text, { mode: 0o755 });
  for (const file of [root, privateFile, ...Object.keys(scripts).map((f) => join(root, f))]) {
    await chown(file, user.uid, user.gid);
  }
  return { account: user, root, socket: join(dir, `${name}.sock`), privateFile, secret };
}

/** nginx: `/a/…` and `/b/…` under the temp dir's document root, each to its pool's socket. */
function site(httpSocket: string, dir: string, a: UserPool, b: UserPool): string {
  const location = (name: string, socket: string): string => `
    location /${name}/ {
        include ${NGINX_FASTCGI_PARAMS};
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:${socket};
    }`;
  return `
server {
    listen unix:${httpSocket};
    server_name localhost;
    root ${dir};
${location('a', a.socket)}
${location('b', b.socket)}
}
`;
}

/** The daemon's config: pool a and pool b, each under its user, sockets for www-data. */
function config(a: UserPool, b: UserPool): Record<string, unknown> {
  return {
    global: { log_level: 'info' },
    pools: {
      a: {
        listen: a.socket, 'listen.owner': 'www-data', 'listen.group': 'www-data', 'listen.mode': '0660',
        root: a.root, match: ['*.sh'], user: a.account.name, umask: '0027',
        pm: { max_children: 1 }, clear_env: false, env: { PATH: SCRIPT_PATH },
      },
      b: {
        listen: b.socket, 'listen.group': 'www-data', 'listen.mode': '0660',
        root: b.root, match: ['*.py'], user: b.account.name, runtime: 'python',
        pm: { max_children: 1 }, env: { PATH: SCRIPT_PATH },
      },
    },
  };
}

/** Creates the users and files, starts the daemon (as root) and nginx (workers as www-data). */
export async function startUsersStack(): Promise<UsersStack> {
  const tmp = await createTempDir('cgi-fpm-users-');
  let daemon: Daemon | undefined;
  let nginx: Nginx | undefined;
  const stop = async (): Promise<void> => {
    await nginx?.stop();
    await daemon?.stop();
    if (process.env.CGI_FPM_IT_KEEP_TMP === undefined) await tmp.remove();
  };
  try {
    const dir = await realpath(tmp.path);
    const a = await makePool(dir, 'a', systemUser('cgifpm-a'), A_SCRIPTS);
    const b = await makePool(dir, 'b', systemUser('cgifpm-b'), B_SCRIPTS);
    daemon = await startDaemon({ dir, config: config(a, b) });
    const httpSocket = join(dir, 'http.sock');
    nginx = await startNginx({ dir: join(dir, 'nginx'), httpSocket, site: site(httpSocket, dir, a, b), user: 'www-data' });
    const started = nginx;
    return {
      dir, a, b, daemon, nginx, stop,
      get: (path) => httpRequest({ socketPath: started.httpSocket, path }),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Tries to connect to a unix socket as another user (a node child with `uid`/`gid`).
 * @returns `"connected"`, or the errno code (`"EACCES"`).
 */
export function connectAs(user: Account, socket: string): Promise<string> {
  const code = `require('net').connect(${JSON.stringify(socket)})
    .on('connect', function () { process.stdout.write('connected'); this.destroy(); })
    .on('error', (e) => { process.stdout.write(String(e.code)); });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', code], { uid: user.uid, gid: user.gid, cwd: '/', timeout: 10_000 }, (err, stdout) => {
      if (err !== null) reject(new Error(`connect as ${user.name}: ${err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** The body lines of a text response as `name=value` pairs. */
export function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => {
    const eq = l.indexOf('=');
    return [l.slice(0, eq), l.slice(eq + 1)];
  }));
}
