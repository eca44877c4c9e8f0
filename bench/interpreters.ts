// This file implements the interpreters and versions from the perspective of a fair bench: every
// Python row runs the same real python3 binary (not a pyenv shim, which would add a shell to
// each exec), every Node row the node running the bench, and the JSON records their versions.
import { spawnSync } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { runCommand } from './run-command.ts';
import type { Tools } from './tools.ts';

/** The interpreters the hello scripts run with. */
export interface Interpreters {
  /** Absolute real path of python3 (the shebang of hello.py and `python.executable`). */
  readonly python: string;
  /** Absolute path of node (the shebang of hello.js; the daemon runs on it too). */
  readonly node: string;
}

/** Versions of everything measured, for the report. */
export interface Versions {
  readonly node: string;
  readonly python: string;
  readonly nginx: string;
  readonly wrk: string;
  readonly fcgiwrap: string;
}

/**
 * Resolves `python3` from PATH to the binary it really runs (`sys.executable`, symlinks
 * resolved) and node to `process.execPath`.
 *
 * @throws Error when python3 cannot be run
 */
export async function findInterpreters(): Promise<Interpreters> {
  const { stdout } = await runCommand('python3', ['-c', 'import sys; print(sys.executable)'], {
    timeoutMs: 10_000,
  });
  return { python: await realpath(stdout.trim()), node: process.execPath };
}

/** The first line of `file args…` output matching `pattern` (group 1), or `"unknown"`. */
function versionOf(file: string, args: readonly string[], pattern: RegExp): string {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stdout}\n${result.stderr}`;
  return pattern.exec(text)?.[1] ?? 'unknown';
}

/** Asks each tool for its version; a tool that does not say gives `"unknown"`. */
export function findVersions(tools: Tools, interpreters: Interpreters): Versions {
  return {
    node: process.version,
    python: versionOf(interpreters.python, ['--version'], /Python (\S+)/),
    nginx: versionOf(tools.nginx, ['-v'], /nginx\/(\S+)/),
    wrk: versionOf(tools.wrk, ['-v'], /wrk (\S+)/),
    // fcgiwrap has no version flag; its Debian package knows.
    fcgiwrap: versionOf('dpkg-query', ['-W', '-f', '${Version}', 'fcgiwrap'], /^(\S+)/),
  };
}
