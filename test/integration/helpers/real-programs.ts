// This file implements a site of real, packaged CGI programs (Debian's git-http-backend, gitweb
// and cgit) from the perspective of a suite that runs them unmodified behind cgi-fpm and a real
// nginx on a loopback port (git's HTTP client needs a TCP URL): one bare repository seeded with a
// commit, one pool per program on one socket, and the git client run with a private HOME.
import { execFile } from 'node:child_process';
import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon.ts';
import { freeLoopbackPort } from './free-port.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { NGINX_FASTCGI_PARAMS } from './paths.ts';
import { SCRIPT_PATH } from './stack.ts';
import { createTempDir } from './temp-dir.ts';

/** Where Debian's packages put the programs. */
export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';
export const GITWEB_CGI = '/usr/share/gitweb/gitweb.cgi';
export const CGIT_CGI = '/usr/lib/cgit/cgit.cgi';

/** The repository every program serves, and the commit subject it is seeded with. */
export const REPO_NAME = 'project.git';
export const SEED_SUBJECT = 'seed commit for the real-programs suite';

/** A running site. */
export interface RealProgramsSite {
  readonly dir: string;
  /** The bare repositories' parent directory (GIT_PROJECT_ROOT, gitweb's and cgit's scan path). */
  readonly repos: string;
  readonly daemon: Daemon;
  readonly nginx: Nginx;
  /** `http://127.0.0.1:PORT` of nginx. */
  readonly baseUrl: string;
  /** Runs `git ARGS` in `cwd` with a private HOME and no system config; rejects on a non-zero exit. */
  git(args: readonly string[], cwd?: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Runs one git command with a private environment (HOME in the suite's dir, no system config,
 * no prompts), bounded in time.
 * @throws Error naming the command, its exit code and stderr
 */
export function runGit(home: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, {
      cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL',
      env: {
        PATH: SCRIPT_PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'Tester', GIT_AUTHOR_EMAIL: 'tester@example.test',
        GIT_COMMITTER_NAME: 'Tester', GIT_COMMITTER_EMAIL: 'tester@example.test',
      },
    }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`git ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The daemon's socket for each pool (one shared socket, or one each for direct pools). */
type PoolSockets = Readonly<Record<'git' | 'gitweb' | 'cgit', string>>;

function nginxSite(port: number, sockets: PoolSockets, repos: string, bodyBuffering: boolean): string {
  const common = (pool: keyof PoolSockets): string => `include ${NGINX_FASTCGI_PARAMS};
        fastcgi_pass unix:${sockets[pool]};
        fastcgi_read_timeout 60s;`;
  return `
server {
    listen 127.0.0.1:${port};
    server_name localhost;
    client_max_body_size 0;
    ${bodyBuffering ? '' : 'fastcgi_request_buffering off;'}

    location ~ ^/git(/.*)$ {
        ${common('git')}
        fastcgi_param SCRIPT_FILENAME ${GIT_HTTP_BACKEND};
        fastcgi_param SCRIPT_NAME /git;
        fastcgi_param PATH_INFO $1;
        fastcgi_param GIT_PROJECT_ROOT ${repos};
        fastcgi_param GIT_HTTP_EXPORT_ALL "";
        fastcgi_param REMOTE_USER tester;
    }
    location /gitweb/ {
        ${common('gitweb')}
        fastcgi_param SCRIPT_FILENAME ${GITWEB_CGI};
        fastcgi_param SCRIPT_NAME /gitweb/;
    }
    location ~ ^/cgit(/.*)?$ {
        ${common('cgit')}
        fastcgi_param SCRIPT_FILENAME ${CGIT_CGI};
        fastcgi_param SCRIPT_NAME /cgit;
        fastcgi_param PATH_INFO $1;
    }
}
`;
}

/** Options for {@link startRealProgramsSite}. */
export interface RealProgramsOptions {
  /** nginx `fastcgi_request_buffering` (on: the whole body is read before the backend hears of it). @defaultValue true */
  readonly bodyBuffering?: boolean;
  /**
   * The pools' `dispatch`: `"direct"` gives each pool its own socket (its workers accept on it).
   * @defaultValue "relay" (the three pools share one socket)
   */
  readonly dispatch?: 'relay' | 'direct';
}

/**
 * Creates a bare repository with one commit, then starts cgi-fpm (pools `git`, `gitweb`, `cgit`,
 * `exec` runtime, on one unix socket, or one each with `dispatch = "direct"`) and nginx on a loopback port in front; stops whatever
 * started if a later step fails.
 */
export async function startRealProgramsSite(options: RealProgramsOptions = {}): Promise<RealProgramsSite> {
  const tmp = await createTempDir('cgi-fpm-real-');
  let daemon: Daemon | undefined;
  let nginx: Nginx | undefined;
  const stop = async (): Promise<void> => {
    await nginx?.stop();
    await daemon?.stop();
    if (process.env.CGI_FPM_IT_KEEP_TMP === undefined) await tmp.remove();
  };
  try {
    const dir = await realpath(tmp.path);
    const repos = join(dir, 'repos');
    const home = join(dir, 'home');
    await mkdir(repos);
    await mkdir(home);
    const git = (args: readonly string[], cwd = dir, timeoutMs?: number): Promise<string> => runGit(home, args, cwd, timeoutMs);
    const bare = join(repos, REPO_NAME);
    await git(['init', '--bare', '--initial-branch=main', bare]);
    await git(['config', 'http.receivepack', 'true'], bare);
    await writeFile(join(bare, 'description'), 'The real-programs test repository\n');
    const seed = join(dir, 'seed');
    await git(['init', '--initial-branch=main', seed]);
    await writeFile(join(seed, 'README'), 'seeded\n');
    await git(['add', 'README'], seed);
    await git(['commit', '-m', SEED_SUBJECT], seed);
    await git(['push', bare, 'main'], seed);

    const gitwebConf = join(dir, 'gitweb.conf');
    await writeFile(gitwebConf, `our $projectroot = "${repos}";\nour $git_temp = "${dir}";\n`);
    const cgitrc = join(dir, 'cgitrc');
    await writeFile(cgitrc, `virtual-root=/cgit/\ncache-size=0\nscan-path=${repos}\n`);

    const direct = options.dispatch === 'direct';
    const sockets: PoolSockets = direct
      ? { git: join(dir, 'git.sock'), gitweb: join(dir, 'gitweb.sock'), cgit: join(dir, 'cgit.sock') }
      : { git: join(dir, 'fpm.sock'), gitweb: join(dir, 'fpm.sock'), cgit: join(dir, 'fpm.sock') };
    const pool = (name: keyof PoolSockets, root: string, match: string, env: Record<string, string>): Record<string, unknown> => ({
      listen: sockets[name], 'listen.mode': '0666', root, match: [match], runtime: 'exec',
      pm: { max_children: 2 }, request_terminate_timeout: '120s', clear_env: true,
      env: { PATH: SCRIPT_PATH, ...env },
      ...(direct ? { dispatch: 'direct' } : {}),
    });
    daemon = await startDaemon({
      dir,
      config: {
        global: { log_level: 'info' },
        pools: {
          git: pool('git', '/usr/lib/git-core', 'git-http-backend', {}),
          gitweb: pool('gitweb', '/usr/share/gitweb', 'gitweb.cgi', { GITWEB_CONFIG: gitwebConf }),
          cgit: pool('cgit', '/usr/lib/cgit', 'cgit.cgi', { CGIT_CONFIG: cgitrc }),
        },
      },
    });
    const port = await freeLoopbackPort();
    nginx = await startNginx({
      dir: join(dir, 'nginx'),
      httpSocket: join(dir, 'unused-http.sock'),
      site: nginxSite(port, sockets, repos, options.bodyBuffering ?? true)
        + `server { listen unix:${join(dir, 'unused-http.sock')}; return 404; }\n`,
    });
    const started = { daemon, nginx };
    return { dir, repos, ...started, baseUrl: `http://127.0.0.1:${port}`, git, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
