// This file implements the tests of load.ts from the perspective of an operator writing a
// config file: defaults, both spellings of dotted keys, relative paths, and every problem
// reported at once with the file, pool, key and value.

import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, ErrorCode } from '../errors.ts';
import { loadConfig, parseConfig } from './load.ts';
import type { ConfigFs } from './load.ts';
import type { PoolConfig } from './schema.ts';

let dir: string;
let file: string;
let root: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cgi-fpm-config-')));
  file = join(dir, 'cgi-fpm.toml');
  root = join(dir, 'cgi-bin');
  await mkdir(root);
  await symlink(root, join(dir, 'link'));
  await writeFile(join(dir, 'busy.html'), '<p>busy</p>\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pool(body: string, name = 'blog'): string {
  return `[pools.${name}]\nlisten = "/run/cgi-fpm/${name}.sock"\nroot = "${root}"\n${body}\n`;
}

async function onlyPool(text: string): Promise<PoolConfig> {
  const config = await parseConfig(text, file);
  expect(config.pools).toHaveLength(1);
  return config.pools[0]!;
}

describe('parseConfig: valid files', () => {
  it('applies every default', async () => {
    const config = await parseConfig(pool(''), file);
    expect(config).toEqual({
      file,
      global: { logLevel: 'info', controlSocket: undefined, processControlTimeoutMs: 10_000, clientHeaderTimeoutMs: 60_000, keepaliveTimeoutMs: 75_000 },
      pools: [
        {
          name: 'blog',
          listen: { address: { kind: 'unix', path: '/run/cgi-fpm/blog.sock' }, mode: 0o660, backlog: 511, maxConnections: 1000, allowedClients: undefined, mpxsConns: true },
          root,
          match: ['**'],
          requireExecutable: true,
          runtime: 'exec',
          pm: {
            mode: 'static', maxChildren: 5, startServers: 2, minSpareServers: 1, maxSpareServers: 3,
            processIdleTimeoutMs: 10_000, maxRequests: 0, maxMemoryBytes: 0,
          },
          requestTerminateTimeoutMs: 60_000,
          requestSlowlogTimeoutMs: 0,
          slowlog: undefined,
          slowlogStack: true,
          status: { path: undefined, listen: undefined, pingPath: undefined, pingResponse: 'pong' },
          access: { log: undefined, format: '%R - %u %t "%m %r" %s' },
          queue: { max: 100, timeoutMs: 30_000 },
          overloadPage: undefined,
          env: {},
          clearEnv: true,
          stderr: 'log',
          dispatch: 'relay',
          exec: { killGroupAtEnd: true },
          python: { executable: 'python3' },
          isolation: 'persistent',
          preload: [],
          state: { modules: 'reset', globals: 'reset' },
          handler: { module: undefined, concurrency: 1 },
        },
      ],
    });
  });

  it('reads every key, quoted dotted keys', async () => {
    const text = `[global]\nlog_level = "warn"\n[pools.blog]\nlisten = "127.0.0.1:9001"\n"listen.mode" = "0600"
"listen.backlog" = 64\nroot = "${root}"\nmatch = ["*.py", "*.cgi"]\nrequire_executable = false\nruntime = "exec"\npm = "static"
"pm.max_children" = 4\nrequest_terminate_timeout = "90s"\n"queue.max" = 0\n"queue.timeout" = "500ms"
env = { DATABASE_URL = "postgres://localhost/blog" }\nclear_env = false\nstderr = "forward"
"python.executable" = "/usr/bin/python3"\n"state.modules" = "keep"\nstate.globals = "keep"\n`;
    const config = await parseConfig(text, file);
    expect(config.global.logLevel).toBe('warn');
    expect(config.pools[0]).toEqual({
      name: 'blog',
      listen: { address: { kind: 'tcp', host: '127.0.0.1', port: 9001 }, mode: 0o600, backlog: 64, maxConnections: 1000, allowedClients: undefined, mpxsConns: true },
      root,
      match: ['*.py', '*.cgi'],
      requireExecutable: false,
      runtime: 'exec',
      pm: {
        mode: 'static', maxChildren: 4, startServers: 2, minSpareServers: 1, maxSpareServers: 3,
        processIdleTimeoutMs: 10_000, maxRequests: 0, maxMemoryBytes: 0,
      },
      requestTerminateTimeoutMs: 90_000,
      requestSlowlogTimeoutMs: 0,
      slowlog: undefined,
      slowlogStack: true,
      status: { path: undefined, listen: undefined, pingPath: undefined, pingResponse: 'pong' },
      access: { log: undefined, format: '%R - %u %t "%m %r" %s' },
      queue: { max: 0, timeoutMs: 500 },
      overloadPage: undefined,
      env: { DATABASE_URL: 'postgres://localhost/blog' },
      clearEnv: false,
      stderr: 'forward',
      dispatch: 'relay',
      exec: { killGroupAtEnd: true },
      python: { executable: '/usr/bin/python3' },
      isolation: 'persistent',
      preload: [],
      state: { modules: 'keep', globals: 'keep' },
      handler: { module: undefined, concurrency: 1 },
    });
  });

  it('reads the pm keys of dynamic and ondemand pools, sizes and durations parsed', async () => {
    const dyn = await onlyPool(pool('pm = "dynamic"\n"pm.max_children" = 8\n"pm.min_spare_servers" = 2\n"pm.max_spare_servers" = 6\n"pm.max_requests" = 500\n"pm.max_memory" = "256MB"\nrequest_slowlog_timeout = "5s"\n'));
    expect(dyn.pm).toEqual({
      mode: 'dynamic', maxChildren: 8, startServers: 4, minSpareServers: 2, maxSpareServers: 6,
      processIdleTimeoutMs: 10_000, maxRequests: 500, maxMemoryBytes: 256 * 1024 * 1024,
    });
    expect(dyn.requestSlowlogTimeoutMs).toBe(5000);
    const od = await onlyPool(pool('pm = "ondemand"\n"pm.process_idle_timeout" = "2s"\noverload_page = "busy.html"\n'));
    expect(od.pm.mode).toBe('ondemand');
    expect(od.pm.processIdleTimeoutMs).toBe(2000);
    expect(od.overloadPage).toBe(join(dirname(file), 'busy.html'));
  });

  it('reads a handler pool: handler.module resolved against the config directory', async () => {
    const p = await onlyPool(pool('runtime = "handler"\n"handler.module" = "app/server.js"\nhandler.concurrency = 8\n'));
    expect(p.handler).toEqual({ module: join(dirname(file), 'app/server.js'), concurrency: 8 });
  });

  it('reads bare dotted keys and sub-tables the same as quoted ones', async () => {
    const bare = await onlyPool(pool('pm.max_children = 7\nqueue.max = 3\n'));
    expect(bare.pm.maxChildren).toBe(7);
    expect(bare.queue.max).toBe(3);
    const table = await onlyPool(`${pool('')}[pools.blog.queue]\nmax = 2\ntimeout = "1m"\n`);
    expect(table.queue).toEqual({ max: 2, timeoutMs: 60_000 });
  });

  it('reads durations as PHP-FPM does: bare numbers are seconds, 0 is off', async () => {
    const p = await onlyPool(pool('request_terminate_timeout = 0\n"queue.timeout" = 45\n'));
    expect(p.requestTerminateTimeoutMs).toBe(0);
    expect(p.queue.timeoutMs).toBe(45_000);
    expect((await onlyPool(pool('request_terminate_timeout = "0"\n'))).requestTerminateTimeoutMs).toBe(0);
  });

  it('resolves relative listen and root against the config file, root through symlinks', async () => {
    const text = '[pools.blog]\nlisten = "blog.sock"\nroot = "link"\n';
    const p = await onlyPool(text);
    expect(p.listen.address).toEqual({ kind: 'unix', path: join(dir, 'blog.sock') });
    expect(p.root).toBe(root);
    const relativeFile = await parseConfig(text, join(dir, 'sub', '..', 'cgi-fpm.toml'));
    expect(relativeFile.file).toBe(file);
  });

  it('keeps pools in file order and lets pools share a listen address', async () => {
    const shared =
      '[pools.b]\nlisten = "/run/x.sock"\nroot = "cgi-bin"\n[pools.a]\nlisten = "/run/x.sock"\nroot = "cgi-bin"\n';
    const config = await parseConfig(`${shared}${pool('', 'c')}`, file);
    expect(config.pools.map((p) => p.name)).toEqual(['b', 'a', 'c']);
  });

  it('lets TCP pools share an address with different listen.mode (unused for TCP)', async () => {
    const text = `[pools.a]\nlisten = "127.0.0.1:9000"\nroot = "cgi-bin"\n"listen.mode" = "0600"
[pools.b]\nlisten = "127.0.0.1:9000"\nroot = "cgi-bin"\n`;
    expect((await parseConfig(text, file)).pools).toHaveLength(2);
  });

  it('returns a deeply frozen object', async () => {
    const config = await parseConfig(pool('env = { A = "1" }\n'), file);
    const p = config.pools[0]!;
    for (const value of [
      config,
      config.global,
      config.pools,
      p,
      p.listen,
      p.listen.address,
      p.match,
      p.pm,
      p.queue,
      p.env,
    ]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
  });
});

describe('loadConfig', () => {
  it('throws a syntax error with the file, line and column', async () => {
    await writeFile(file, '[pools.blog]\nlisten = "/a"\nlisten.mode = "0660"\n');
    const error = await loadConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(ErrorCode.ERR_CONFIG_SYNTAX);
    expect((error as ConfigError).message).toContain(`${file}:3:1: invalid TOML`);
    expect((error as ConfigError).message).toContain('"listen.mode" = "0660"');
  });

  it('reads the file once and validates it', async () => {
    await writeFile(file, pool('"pm.max_children" = 2\n'));
    const config = await loadConfig(file);
    expect(config.file).toBe(file);
    expect(config.pools[0]!.pm.maxChildren).toBe(2);
  });

  it('uses an injected file system', async () => {
    const readFile = vi.fn(() => Promise.resolve('[pools.x]\nlisten = "x.sock"\nroot = "scripts"\n'));
    const fs: ConfigFs = {
      readFile,
      realpath: (p: string) => Promise.resolve(`/real${p}`),
      stat: () => Promise.resolve({ isDirectory: () => true }),
      readdir: () => Promise.resolve([]),
    };
    const config = await loadConfig('/conf/cgi-fpm.toml', fs);
    expect(readFile).toHaveBeenCalledTimes(1);
    expect(readFile).toHaveBeenCalledWith('/conf/cgi-fpm.toml', 'utf8');
    expect(config.pools[0]!.root).toBe('/real/conf/scripts');
    expect(config.pools[0]!.listen.address).toEqual({ kind: 'unix', path: '/conf/x.sock' });
  });

  it('throws ERR_CONFIG_READ naming the file when it cannot be read', async () => {
    const missing = join(dir, 'missing.toml');
    const error = await loadConfig(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: ErrorCode.ERR_CONFIG_READ, file: missing });
    expect((error as Error).message).toBe(
      `config: ${missing}: cannot read the config file: ENOENT (no such file or directory)`,
    );
  });
});

describe('parseConfig: overload_page', () => {
  it('must name an existing file, checked at load', async () => {
    await expect(parseConfig(pool('overload_page = "nope.html"\n'), file)).rejects.toThrow(
      `config: ${file}: pool "blog": overload_page must be an existing file, got "nope.html" (${join(dir, 'nope.html')}): ENOENT (no such file or directory)`,
    );
    await expect(parseConfig(pool(`overload_page = "${root}"\n`), file)).rejects.toThrow(
      `pool "blog": overload_page must be an existing file, got "${root}": a directory`,
    );
  });
});
