// This file implements `cgi-fpm install-layout` from the perspective of an operator who ran
// `npm install -g cgi-fpm` and wants the system layout PHP-FPM packages give: the config
// `/etc/cgi-fpm/cgi-fpm.toml` including `/etc/cgi-fpm/pool.d/*.toml` (with a first pool), the
// systemd units pointing at the binary just installed, and the tmpfiles.d entry for
// `/run/cgi-fpm`. An existing config is never overwritten; the units and tmpfiles entry are.

import { chmod, copyFile, mkdir, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { EX_CANTCREAT, EX_NOPERM, EX_OK } from '../exit-codes.ts';
import type { CliContext, CliIo } from '../io.ts';

/** The binary path the shipped units and examples name (npm's default global prefix). */
export const SHIPPED_BIN = '/usr/local/bin/cgi-fpm';

/** The package's root directory (holding `config/`, `systemd/`), from the built file's place. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Arguments of `cgi-fpm install-layout`. */
export interface InstallLayoutArgs {
  /** Prefix every written path with this directory (staging, packaging). @defaultValue `/` */
  readonly destdir: string;
  /** The command the units run; default: the `cgi-fpm` this runs as. */
  readonly bin: string | undefined;
}

/** One step, as reported on stdout. */
type Step = readonly ['created' | 'kept' | 'wrote', string];

/**
 * The command the units should run: `--bin`, else the `cgi-fpm` link this process was started
 * through (`/usr/local/bin/cgi-fpm` after `npm install -g`), else node and this checkout's
 * `dist/cli/main.js`.
 */
export async function unitCommand(bin: string | undefined, argv1: string | undefined, execPath: string): Promise<string> {
  if (bin !== undefined) return resolve(bin);
  if (argv1 !== undefined && basename(argv1) === 'cgi-fpm') return resolve(argv1);
  const main = await realpath(argv1 ?? join(PACKAGE_ROOT, 'dist/cli/main.js'));
  return `${execPath} ${main}`;
}

/** `text` with the shipped binary path replaced by `command`. */
export function withCommand(text: string, command: string): string {
  return text.replaceAll(SHIPPED_BIN, command);
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the config files unless a config is there already; its pool.d only when empty. */
async function installConfig(etc: string, steps: Step[]): Promise<void> {
  await mkdir(join(etc, 'pool.d'), { recursive: true, mode: 0o755 });
  const main = join(etc, 'cgi-fpm.toml');
  if (await exists(main)) steps.push(['kept', main]);
  else {
    await copyFile(join(PACKAGE_ROOT, 'config/cgi-fpm.toml'), main);
    await chmod(main, 0o644);
    steps.push(['created', main]);
  }
  const pools = (await readdir(join(etc, 'pool.d'))).filter((name) => name.endsWith('.toml'));
  const www = join(etc, 'pool.d/www.toml');
  if (pools.length > 0) steps.push(['kept', join(etc, 'pool.d')]);
  else {
    await copyFile(join(PACKAGE_ROOT, 'config/pool.d/www.toml'), www);
    await chmod(www, 0o644);
    steps.push(['created', www]);
  }
}

/** Writes the units (naming `command`) and the tmpfiles.d entry, replacing older copies. */
async function installSystemd(destdir: string, command: string, steps: Step[]): Promise<void> {
  const files: readonly [string, string][] = [
    ['systemd/cgi-fpm.service', 'etc/systemd/system/cgi-fpm.service'],
    ['systemd/cgi-fpm.socket', 'etc/systemd/system/cgi-fpm.socket'],
    ['systemd/tmpfiles.d/cgi-fpm.conf', 'etc/tmpfiles.d/cgi-fpm.conf'],
  ];
  for (const [from, to] of files) {
    const target = join(destdir, to);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, withCommand(await readFile(join(PACKAGE_ROOT, from), 'utf8'), command), { mode: 0o644 });
    steps.push(['wrote', target]);
  }
}

/**
 * Lays out the config, the units and the tmpfiles.d entry under `destdir`.
 *
 * @returns `0` after printing each step and what to run next; `77` (EX_NOPERM) when a path
 *   cannot be written for lack of permission (run it as root), `73` (EX_CANTCREAT) otherwise.
 */
export async function installLayoutCommand(args: InstallLayoutArgs, io: CliIo): Promise<number> {
  const destdir = resolve(args.destdir);
  const steps: Step[] = [];
  try {
    const command = await unitCommand(args.bin, process.argv[1], process.execPath);
    await installConfig(join(destdir, 'etc/cgi-fpm'), steps);
    await installSystemd(destdir, command, steps);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    for (const [what, path] of steps) io.stdout(`${what} ${path}\n`);
    io.stderr(`install-layout: ${(error as Error).message}${code === 'EACCES' || code === 'EPERM' ? ' (run it as root)' : ''}\n`);
    return code === 'EACCES' || code === 'EPERM' ? EX_NOPERM : EX_CANTCREAT;
  }
  for (const [what, path] of steps) io.stdout(`${what} ${path}${what === 'kept' ? ' (exists)' : ''}\n`);
  io.stdout(
    [
      '',
      'Next, as root:',
      '  systemd-tmpfiles --create cgi-fpm.conf     # /run/cgi-fpm',
      '  systemctl daemon-reload',
      '  cgi-fpm check                              # /etc/cgi-fpm/cgi-fpm.toml and pool.d/*.toml',
      '  systemctl enable --now cgi-fpm',
      '',
    ].join('\n'),
  );
  return EX_OK;
}

/** The yargs command module of `cgi-fpm install-layout [--destdir DIR] [--bin PATH]`. */
export function installLayoutCommandModule(context: CliContext): CommandModule<object, InstallLayoutArgs> {
  return {
    command: 'install-layout',
    describe: 'create /etc/cgi-fpm (cgi-fpm.toml, pool.d/), the systemd units and the tmpfiles.d entry',
    builder: (cli) =>
      cli
        .option('destdir', {
          type: 'string',
          default: '/',
          requiresArg: true,
          describe: 'write under this directory instead of / (staging)',
        })
        .option('bin', {
          type: 'string',
          requiresArg: true,
          describe: 'the cgi-fpm binary the units run (default: the one running this command)',
        }),
    handler: async (args) => {
      context.exitCode = await installLayoutCommand(args, context.io);
    },
  };
}
