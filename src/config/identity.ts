// This file implements a pool's identity from the perspective of the config loader: `user`,
// `group`, `listen.owner` and `listen.group` (names or numeric ids, PHP-FPM's keys) resolved
// to ids against /etc/passwd and /etc/group once, at load, so the daemon never looks them up
// again and a misspelled name is a config error naming the file, pool, key and value.

import type { ConfigError } from '../errors.ts';
import { GROUP_FILE, PASSWD_FILE, parseGroup, parsePasswd } from './accounts.ts';
import type { AccountRef, GroupEntry, PasswdEntry } from './accounts.ts';
import type { ConfigFs, PoolContext } from './config-fs.ts';
import { configProblem, describeSystemError } from './problems.ts';
import type { PoolUser } from './schema.ts';
import type { PoolTable } from './toml-schema.ts';

/** The ids a pool's table resolves to. */
export interface PoolIdentity {
  /** Whom the workers run as; `undefined` without `user`. */
  readonly user: PoolUser | undefined;
  /** uid the unix socket is given; `undefined`: the daemon's. */
  readonly listenOwner: number | undefined;
  /** gid the unix socket is given; `undefined`: the daemon's. */
  readonly listenGroup: number | undefined;
}

/** The resolved identity, or every problem with it. */
export type ResolvedIdentity =
  | { readonly ok: true; readonly value: PoolIdentity }
  | { readonly ok: false; readonly problems: readonly ConfigError[] };

/** Reads each database at most once per pool, and only when a key needs it. */
class AccountFiles {
  private readonly fs: ConfigFs;
  private passwdText: Promise<string> | undefined;
  private groupText: Promise<string> | undefined;

  constructor(fs: ConfigFs) {
    this.fs = fs;
  }

  async passwd(): Promise<PasswdEntry[]> {
    this.passwdText ??= this.fs.readFile(PASSWD_FILE, 'utf8');
    return parsePasswd(await this.passwdText);
  }

  async groups(): Promise<GroupEntry[]> {
    this.groupText ??= this.fs.readFile(GROUP_FILE, 'utf8');
    return parseGroup(await this.groupText);
  }
}

/** A lookup failure, as the message wants it after `KEY: `. */
class LookupProblem extends Error {}

/** A user's uid and its passwd entry: by name (which must exist), or by uid (which need not). */
async function userEntry(ref: AccountRef, files: AccountFiles): Promise<{ uid: number; entry: PasswdEntry | undefined }> {
  const users = await read(files.passwd(), PASSWD_FILE);
  if (ref.kind === 'id') return { uid: ref.id, entry: users.find((u) => u.uid === ref.id) };
  const entry = users.find((u) => u.name === ref.name);
  if (entry === undefined) throw new LookupProblem(`no such user ${JSON.stringify(ref.name)} in ${PASSWD_FILE}`);
  return { uid: entry.uid, entry };
}

async function groupId(ref: AccountRef, files: AccountFiles): Promise<number> {
  if (ref.kind === 'id') return ref.id;
  const entry = (await read(files.groups(), GROUP_FILE)).find((g) => g.name === ref.name);
  if (entry === undefined) throw new LookupProblem(`no such group ${JSON.stringify(ref.name)} in ${GROUP_FILE}`);
  return entry.gid;
}

async function read<T>(entries: Promise<T>, file: string): Promise<T> {
  try {
    return await entries;
  } catch (error) {
    throw new LookupProblem(`cannot read ${file}: ${describeSystemError(error)}`, { cause: error });
  }
}

/** The name of `gid` for display (`cgi-fpm check`): its /etc/group name, else the digits. */
async function groupName(gid: number, files: AccountFiles): Promise<string> {
  const groups = await files.groups().catch(() => []);
  return groups.find((g) => g.gid === gid)?.name ?? String(gid);
}

/** `user`, with `group` (already resolved, if written) or else the user's primary group. */
async function poolUser(user: AccountRef, group: AccountRef | undefined, gid: number | undefined,
  files: AccountFiles): Promise<PoolUser> {
  const { uid, entry } = await userEntry(user, files);
  const effectiveGid = gid ?? entry?.gid;
  if (effectiveGid === undefined) {
    throw new LookupProblem(`uid ${uid} has no entry in ${PASSWD_FILE} to take its primary group from; set group too`);
  }
  const name = group?.kind === 'name' ? group.name : await groupName(effectiveGid, files);
  return { uid, gid: effectiveGid, name: entry?.name ?? String(uid), groupName: name, home: entry?.home };
}

/** `listen.owner`; as in PHP-FPM, an owner found in /etc/passwd brings its primary group. */
async function socketOwner(owner: AccountRef | undefined, files: AccountFiles): Promise<{ uid?: number; gid?: number }> {
  if (owner === undefined) return {};
  const { uid, entry } = await userEntry(owner, files);
  return entry === undefined ? { uid } : { uid, gid: entry.gid };
}

/**
 * Resolves a pool's `user`, `group`, `listen.owner` and `listen.group` to ids. The files are
 * read only when one of these keys is set.
 *
 * @returns the ids, or one problem per key that names no account (`user: no such user "x" in
 *   /etc/passwd`), or `group` without `user`.
 */
export async function resolveIdentity(t: PoolTable, ctx: PoolContext, fs: ConfigFs): Promise<ResolvedIdentity> {
  const files = new AccountFiles(fs);
  const problems: ConfigError[] = [];
  const attempt = async <T>(key: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof LookupProblem)) throw error;
      problems.push(configProblem(ctx.file, `${key}: ${error.message}`, { pool: ctx.name, key }, undefined, { cause: error }));
      return undefined;
    }
  };
  const userRef = t.user;
  const groupRef = t.group;
  const gid = groupRef === undefined ? undefined : await attempt('group', () => groupId(groupRef, files));
  let user: PoolUser | undefined;
  if (userRef !== undefined && (groupRef === undefined || gid !== undefined)) {
    user = await attempt('user', () => poolUser(userRef, groupRef, gid, files));
  } else if (userRef === undefined && groupRef !== undefined) {
    problems.push(configProblem(ctx.file, 'group needs user: it sets the group the workers of user run as',
      { pool: ctx.name, key: 'group' }));
  }
  const owner = await attempt('listen.owner', () => socketOwner(t['listen.owner'], files));
  const listenGroupRef = t['listen.group'];
  const listenGroup = listenGroupRef === undefined
    ? owner?.gid
    : await attempt('listen.group', () => groupId(listenGroupRef, files));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { user, listenOwner: owner?.uid, listenGroup } };
}
