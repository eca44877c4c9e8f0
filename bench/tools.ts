// This file implements the bench's external tools from the perspective of `npm run bench` on a
// Debian machine: find nginx, wrk and the peers' servers (fcgiwrap, PHP-FPM, Apache with
// mod_wsgi), and install the missing ones with apt-get without letting their packaged services
// start (as .ci/run does). A peer that cannot be found fails only its own rows.
import { constants } from 'node:fs';
import { access, readdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { APACHE_BIN, APACHE_MODULES_DIR, NGINX_BIN } from '../test/integration/helpers/paths.ts';
import { runCommand } from './run-command.ts';

/** Every tool the bench may run. */
export type ToolName = 'nginx' | 'wrk' | 'fcgiwrap' | 'phpFpm' | 'apache' | 'modWsgi';

/** Absolute paths of the tools found; a missing tool maps to why. */
export interface Tools {
  /** The nginx binary (the one the integration helpers start). */
  readonly nginx: string;
  /** The wrk HTTP load generator. */
  readonly wrk: string;
  /** A peer's file (binary, or mod_wsgi's shared module), or the error that fails its rows. */
  peer(name: Exclude<ToolName, 'nginx' | 'wrk'>): string | Error;
}

/** Where a tool may be and which Debian package installs it. */
interface ToolSpec {
  readonly candidates: () => Promise<string[]>;
  readonly aptPackage: string;
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const APT_TIMEOUT_MS = 15 * 60_000;

function inPath(name: string): string[] {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name));
}

/** Debian names the binary after the PHP version (`php-fpm8.2`); the newest comes first. */
async function phpFpmBinaries(): Promise<string[]> {
  const names = await readdir('/usr/sbin').catch(() => [] as string[]);
  const versioned = names
    .filter((n) => /^php-fpm\d+(\.\d+)?$/.test(n))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  return [...versioned.map((n) => join('/usr/sbin', n)), ...inPath('php-fpm')];
}

const SPECS: Readonly<Record<ToolName, ToolSpec>> = {
  nginx: { candidates: () => Promise.resolve([NGINX_BIN]), aptPackage: 'nginx' },
  wrk: { candidates: () => Promise.resolve([...inPath('wrk'), '/usr/bin/wrk']), aptPackage: 'wrk' },
  fcgiwrap: {
    candidates: () => Promise.resolve(['/usr/sbin/fcgiwrap', ...inPath('fcgiwrap')]),
    aptPackage: 'fcgiwrap',
  },
  phpFpm: { candidates: phpFpmBinaries, aptPackage: 'php-fpm' },
  apache: { candidates: () => Promise.resolve([APACHE_BIN]), aptPackage: 'apache2' },
  modWsgi: {
    candidates: () => Promise.resolve([join(APACHE_MODULES_DIR, 'mod_wsgi.so')]),
    aptPackage: 'libapache2-mod-wsgi-py3',
  },
};

async function exists(file: string, mode: number): Promise<boolean> {
  try {
    await access(file, mode);
    return true;
  } catch {
    return false;
  }
}

async function locate(name: ToolName): Promise<string | undefined> {
  const mode = name === 'modWsgi' ? constants.R_OK : constants.X_OK;
  for (const file of await SPECS[name].candidates()) if (await exists(file, mode)) return file;
  return undefined;
}

/**
 * `apt-get update` then `apt-get install -y PACKAGES`, with a temporary policy-rc.d that
 * refuses service starts (nginx on port 80, Apache, PHP-FPM and fcgiwrap's socket are not ours
 * to run); an existing policy-rc.d is left as it is.
 */
async function aptInstall(packages: readonly string[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `bench: missing ${packages.join(', ')}; run as root or install: apt-get install -y ${packages.join(' ')}`,
    );
  }
  const addPolicy = !(await exists(POLICY_RC_D, constants.X_OK));
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
 * Finds `names` (always nginx and wrk too), installing the missing ones first in one apt-get
 * run. A peer still missing after that fails its own rows through {@link Tools.peer}.
 *
 * @throws Error when nginx or wrk is missing and cannot be installed
 */
export async function ensureTools(names: ReadonlySet<ToolName>, log: (line: string) => void): Promise<Tools> {
  const wanted = [...new Set<ToolName>(['nginx', 'wrk', ...names])];
  const missing: ToolName[] = [];
  for (const name of wanted) if ((await locate(name)) === undefined) missing.push(name);
  let installError: Error | undefined;
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((n) => SPECS[n].aptPackage))];
    log(`bench: installing ${packages.join(' ')} (apt-get)`);
    await aptInstall(packages).catch((err: unknown) => {
      installError = err as Error;
    });
  }
  const found = new Map<ToolName, string | Error>();
  for (const name of wanted) {
    const file = await locate(name);
    const why = `bench: ${name} missing (apt-get install ${SPECS[name].aptPackage})`;
    found.set(name, file ?? new Error(installError === undefined ? why : `${why}: ${installError.message}`));
  }
  const required = (name: 'nginx' | 'wrk'): string => {
    const file = found.get(name);
    if (typeof file !== 'string') throw file ?? new Error(`bench: ${name} missing`);
    return file;
  };
  return {
    nginx: required('nginx'),
    wrk: required('wrk'),
    peer: (name) => found.get(name) ?? new Error(`bench: ${name} was not looked for`),
  };
}
