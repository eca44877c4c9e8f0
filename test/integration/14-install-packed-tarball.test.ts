// This file implements the install path (issue 14, item 4) from the perspective of an operator
// on a clean machine: `npm pack` from a clean copy of the sources (no dist/: `prepack` builds
// it) gives a tarball with the python runner and the man pages; `npm install -g --prefix`
// of it gives a `cgi-fpm` that prints its version and serves exec, python, node and handler
// pools (through its --http front); `cgi-fpm install-layout` writes /etc/cgi-fpm (config and
// pool.d), the units naming the installed binary (systemd-analyze verify accepts them) and the
// tmpfiles entry, and the staged config passes `cgi-fpm check`.
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from './helpers/free-port.ts';
import { LogCollector } from './helpers/log-collector.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { writeScript } from './helpers/scripts.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';

const PKG = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const TARBALL = `${PKG.name}-${PKG.version}.tgz`;
/** `#!/usr/bin/env node` in the installed bin must find this node. */
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(command: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${String(result.code)}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

let tmp: TempDir;
let prefix: string;
let bin: string;

beforeAll(async () => {
  tmp = await createTempDir('cgi-fpm-pack-');
  // A clean copy of the sources (what a fresh clone holds: tracked and new files, no dist/),
  // with this checkout's node_modules for the build tools.
  const source = join(tmp.path, 'src');
  const files = (await ok('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], REPO_ROOT))
    .split('\0')
    .filter((f) => f !== '');
  for (const file of files) {
    await mkdir(dirname(join(source, file)), { recursive: true });
    await cp(join(REPO_ROOT, file), join(source, file)).catch((err: unknown) => {
      // A file deleted in the work tree but not yet in the index.
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    });
  }
  await symlink(join(REPO_ROOT, 'node_modules'), join(source, 'node_modules'));
  await ok('npm', ['pack', '--pack-destination', tmp.path, '--no-fund', '--no-audit'], source);
  prefix = join(tmp.path, 'prefix');
  // Dependencies from npm's cache when it has them (after `npm ci`), else from the registry.
  await ok('npm', ['install', '-g', '--prefix', prefix, join(tmp.path, TARBALL), '--prefer-offline', '--no-audit', '--no-fund'], tmp.path);
  bin = join(prefix, 'bin/cgi-fpm');
}, 600_000);

afterAll(async () => {
  await tmp.remove();
});

describe('npm pack', () => {
  it('ships the python runner, the man pages, the configs and the units', async () => {
    const listed = (await ok('tar', ['tzf', join(tmp.path, TARBALL)], tmp.path)).split('\n');
    expect(listed).toEqual(
      expect.arrayContaining([
        'package/dist/cli/main.js',
        'package/dist/worker/runtimes/python/runner.py',
        'package/dist/worker/runtimes/python/_cgi_fpm_channel.py',
        'package/dist/worker/runtimes/python/_cgi_fpm_state.py',
        'package/dist/worker/runtimes/python/_cgi_fpm_stdio.py',
        'package/dist/man/cgi-fpm.8',
        'package/dist/man/cgi-fpm.toml.5',
        'package/config/cgi-fpm.toml',
        'package/config/pool.d/www.toml',
        'package/systemd/cgi-fpm.service',
        'package/systemd/tmpfiles.d/cgi-fpm.conf',
      ]),
    );
    expect(listed.filter((f) => f.endsWith('.test.js') || f.startsWith('package/src/'))).toEqual([]);
  });
});

describe('npm install -g of the tarball', () => {
  it('links cgi-fpm and its man pages cgi-fpm(8) and cgi-fpm.toml(5)', async () => {
    expect(await readlink(bin)).toBe('../lib/node_modules/cgi-fpm/dist/cli/main.js');
    expect(await ok(bin, ['--version'], tmp.path)).toBe(`${PKG.version}\n`);
    const page8 = await readFile(join(prefix, 'share/man/man8/cgi-fpm.8'), 'utf8');
    const page5 = await readFile(join(prefix, 'share/man/man5/cgi-fpm.toml.5'), 'utf8');
    expect(page8).toMatch(/^\.TH "CGI\\-FPM" "8" /);
    expect(page8).toContain('install\\-layout');
    expect(page5).toMatch(/^\.TH "CGI\\-FPM\\.TOML" "5" /);
    expect(page5).toContain('pm\\.max_spare_servers');
  });

  it('serves an exec, a python, a node and a handler pool', async () => {
    const dir = join(tmp.path, 'site');
    await writeScript(join(dir, 'exec'), 'hello.sh', '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nexec ok\\n"\n');
    await writeScript(join(dir, 'py'), 'hello.py', 'import sys\nprint("Content-Type: text/plain")\nprint()\nprint("python ok", sys.version_info[0])\n');
    await writeScript(join(dir, 'node'), 'hello.js', "console.log('Content-Type: text/plain\\n');\nconsole.log('node ok');\n");
    await writeScript(
      join(dir, 'app'),
      'app.cjs',
      "module.exports = (req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end(`handler ok ${req.url}\\n`); };\n",
    );
    const pool = (name: string, lines: readonly string[]): string =>
      [`[pools.${name}]`, `listen = "${name}.sock"`, `root = "${name}"`, '"pm.max_children" = 1', ...lines, ''].join('\n');
    const config = join(dir, 'cgi-fpm.toml');
    await writeFile(config, [
      pool('exec', [`env = { PATH = "${PATH}" }`]),
      pool('py', ['runtime = "python"']),
      pool('node', ['runtime = "node"']),
      pool('app', ['runtime = "handler"', '"handler.module" = "app/app.cjs"']),
    ].join('\n'));
    const port = await freeLoopbackPort();
    const daemon = spawn(bin, ['start', '-c', config, '--http', `127.0.0.1:${port}`], {
      cwd: dir, env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs = new LogCollector();
    let stderr = '';
    daemon.stdout.setEncoding('utf8').on('data', (c: string) => { logs.push(c); });
    daemon.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', resolve));
    try {
      await logs.waitFor((e) => e.msg === 'ready to handle connections', 30_000, 0, () => stderr);
      const get = async (path: string): Promise<[number, string]> => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(30_000) });
        return [res.status, await res.text()];
      };
      expect(await get('/hello.sh')).toEqual([200, 'exec ok\n']);
      expect(await get('/hello.py')).toEqual([200, 'python ok 3\n']);
      expect(await get('/hello.js')).toEqual([200, 'node ok\n']);
      expect(await get('/app.cjs?x=1')).toEqual([200, 'handler ok /app.cjs?x=1\n']);
      expect(logs.entries.some((e) => e.msg === 'worker failed to start')).toBe(false);
      daemon.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      daemon.kill('SIGKILL');
    }
  });
});

describe('cgi-fpm install-layout', () => {
  it('writes /etc/cgi-fpm, the units naming the installed binary and the tmpfiles entry; the config checks', async () => {
    const root = join(tmp.path, 'root');
    const out = await ok(bin, ['install-layout', '--destdir', root], tmp.path);
    for (const path of [
      'etc/cgi-fpm/cgi-fpm.toml',
      'etc/cgi-fpm/pool.d/www.toml',
      'etc/systemd/system/cgi-fpm.service',
      'etc/systemd/system/cgi-fpm.socket',
      'etc/tmpfiles.d/cgi-fpm.conf',
    ]) expect(out).toContain(join(root, path));

    const service = await readFile(join(root, 'etc/systemd/system/cgi-fpm.service'), 'utf8');
    expect(service).toContain(`ExecStart=${bin} start --config /etc/cgi-fpm/cgi-fpm.toml`);
    expect(service).toContain(`ExecReload=${bin} reload --config /etc/cgi-fpm/cgi-fpm.toml`);
    expect(service).not.toContain('/usr/local/bin/cgi-fpm');
    const verify = await run('systemd-analyze', ['verify', '--man=no', 'cgi-fpm.service', 'cgi-fpm.socket'], join(root, 'etc/systemd/system'));
    expect({ code: verify.code, output: verify.stdout + verify.stderr }).toEqual({ code: 0, output: '' });

    // Run again: the config the operator may have edited is kept.
    await writeFile(join(root, 'etc/cgi-fpm/cgi-fpm.toml'), '# edited\ninclude = ["pool.d/*.toml"]\n');
    const again = await ok(bin, ['install-layout', '--destdir', root], tmp.path);
    expect(again).toContain(`kept ${join(root, 'etc/cgi-fpm/cgi-fpm.toml')} (exists)`);
    expect(await readFile(join(root, 'etc/cgi-fpm/cgi-fpm.toml'), 'utf8')).toBe('# edited\ninclude = ["pool.d/*.toml"]\n');

    // The staged pool, with its root moved into the stage: `check` reads it through the include.
    const cgiBin = join(root, 'usr/lib/cgi-bin');
    await mkdir(cgiBin, { recursive: true });
    const www = join(root, 'etc/cgi-fpm/pool.d/www.toml');
    await writeFile(www, (await readFile(www, 'utf8')).replace('root = "/usr/lib/cgi-bin"', `root = "${cgiBin}"`));
    const check = await run(bin, ['check', '-c', join(root, 'etc/cgi-fpm/cgi-fpm.toml')], tmp.path);
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
    expect(check.stdout).toContain('[pools.www]');
    expect(check.stdout).toContain('listen = "/run/cgi-fpm/www.sock"');
  });

  it('exits 77 when it may not write there', async () => {
    const result = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', bin, 'install-layout', '--destdir', join(tmp.path, 'denied')], tmp.path);
    expect(result.code).toBe(77);
    expect(result.stderr).toMatch(/^install-layout: .*EACCES.* \(run it as root\)\n$/);
  });
});
