// This file implements the interpreters and versions from the perspective of a fair bench: every
// Python row runs the same real python3 binary (the system's, which Debian's mod_wsgi embeds,
// and not a pyenv shim, which would add a shell to each exec), every Node row the node running
// the bench, and the JSON records the versions of everything measured.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import { access, realpath } from 'node:fs/promises';
import { runCommand } from './run-command.ts';
import type { Tools } from './tools.ts';

/** The interpreters the hello scripts run with. */
export interface Interpreters {
  /** Absolute real path of python3 (the shebang of hello.py and `python.executable`). */
  readonly python: string;
  /** Absolute path of node (the shebang of hello.js; the daemon runs on it too). */
  readonly node: string;
}

/** Versions of everything measured (`"unknown"` when a tool does not say), for the report. */
export type Versions = Readonly<Record<string, string>>;

/** The system's python3: the interpreter Debian builds libapache2-mod-wsgi-py3 against. */
const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * The system python3 when there is one (so the cgi-fpm rows and the mod_wsgi rows run the same
 * Python), else `python3` from PATH resolved to the binary it really runs (`sys.executable`);
 * node is `process.execPath`.
 *
 * @throws Error when no python3 can be run
 */
export async function findInterpreters(): Promise<Interpreters> {
  let python = SYSTEM_PYTHON;
  try {
    await access(SYSTEM_PYTHON, constants.X_OK);
  } catch {
    const { stdout } = await runCommand('python3', ['-c', 'import sys; print(sys.executable)'], {
      timeoutMs: 10_000,
    });
    python = stdout.trim();
  }
  return { python: await realpath(python), node: process.execPath };
}

/** The first line of `file args…` output matching `pattern` (group 1), or `"unknown"`. */
function versionOf(file: string, args: readonly string[], pattern: RegExp): string {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stdout}\n${result.stderr}`;
  return pattern.exec(text)?.[1] ?? 'unknown';
}

function packageVersion(name: string): string {
  return versionOf('dpkg-query', ['-W', '-f', '${Version}', name], /^(\S+)/);
}

/** Asks each tool for its version; a peer not found is left out. */
export function findVersions(tools: Tools, interpreters: Interpreters): Versions {
  const versions: Record<string, string> = {
    node: process.version,
    python: versionOf(interpreters.python, ['--version'], /Python (\S+)/),
    nginx: versionOf(tools.nginx, ['-v'], /nginx\/(\S+)/),
    wrk: versionOf(tools.wrk, ['-v'], /wrk (\S+)/),
  };
  // fcgiwrap and mod_wsgi have no version flag; their Debian packages know.
  if (typeof tools.peer('fcgiwrap') === 'string') versions.fcgiwrap = packageVersion('fcgiwrap');
  const phpFpm = tools.peer('phpFpm');
  if (typeof phpFpm === 'string') versions['php-fpm'] = versionOf(phpFpm, ['-v'], /PHP (\S+)/);
  const apache = tools.peer('apache');
  if (typeof apache === 'string') versions.apache = versionOf(apache, ['-v'], /Apache\/(\S+)/);
  if (typeof tools.peer('modWsgi') === 'string')
    versions.mod_wsgi = packageVersion('libapache2-mod-wsgi-py3');
  return versions;
}
