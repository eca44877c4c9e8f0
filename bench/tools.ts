// This file implements the bench's external tools from the perspective of `npm run bench` on a
// Debian machine: find nginx, wrk and fcgiwrap, and install the missing ones with apt-get
// without letting their packaged services start (as .ci/run does).
import { constants } from 'node:fs';
import { access, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { NGINX_BIN } from '../test/integration/helpers/paths.ts';
import { runCommand } from './run-command.ts';

/** Absolute paths of the tools the bench runs. */
export interface Tools {
  /** The nginx binary (the one the integration helpers start). */
  readonly nginx: string;
  /** The wrk HTTP load generator. */
  readonly wrk: string;
  /** fcgiwrap, the fork-per-request FastCGI wrapper the exec rows are compared with. */
  readonly fcgiwrap: string;
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const APT_TIMEOUT_MS = 15 * 60_000;

function inPath(name: string): string[] {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name));
}

/** Where each tool's binary may be; each Debian package has the tool's name. */
const CANDIDATES: Readonly<Record<keyof Tools, () => string[]>> = {
  nginx: () => [NGINX_BIN],
  wrk: () => [...inPath('wrk'), '/usr/bin/wrk'],
  fcgiwrap: () => ['/usr/sbin/fcgiwrap', ...inPath('fcgiwrap')],
};
const NAMES: readonly (keyof Tools)[] = ['nginx', 'wrk', 'fcgiwrap'];

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function locate(name: keyof Tools): Promise<string | undefined> {
  for (const file of CANDIDATES[name]()) if (await isExecutable(file)) return file;
  return undefined;
}

async function mustLocate(name: keyof Tools): Promise<string> {
  const file = await locate(name);
  if (file === undefined) throw new Error(`bench: ${name} still missing after apt-get install ${name}`);
  return file;
}

/**
 * `apt-get update` then `apt-get install -y PACKAGES`, with a temporary policy-rc.d that
 * refuses service starts (nginx on port 80 and fcgiwrap's socket are not ours to run); an
 * existing policy-rc.d is left as it is.
 */
async function aptInstall(packages: readonly string[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `bench: missing ${packages.join(', ')}; run as root or install: apt-get install -y ${packages.join(' ')}`,
    );
  }
  const addPolicy = !(await isExecutable(POLICY_RC_D));
  if (addPolicy) await writeFile(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const options = { timeoutMs: APT_TIMEOUT_MS, inherit: true, env: { DEBIAN_FRONTEND: 'noninteractive' } };
    await runCommand('apt-get', ['update', '-qq'], options);
    await runCommand('apt-get', ['install', '-y', '-qq', ...packages], options);
  } finally {
    if (addPolicy) await rm(POLICY_RC_D, { force: true });
  }
}

/**
 * Finds nginx, wrk and fcgiwrap, installing the missing ones first (their Debian packages share
 * the tools' names).
 *
 * @throws Error when a tool is missing and cannot be installed, or is still missing after
 */
export async function ensureTools(log: (line: string) => void): Promise<Tools> {
  const missing: string[] = [];
  for (const name of NAMES) if ((await locate(name)) === undefined) missing.push(name);
  if (missing.length > 0) {
    log(`bench: installing ${missing.join(' ')} (apt-get)`);
    await aptInstall(missing);
  }
  return {
    nginx: await mustLocate('nginx'),
    wrk: await mustLocate('wrk'),
    fcgiwrap: await mustLocate('fcgiwrap'),
  };
}
