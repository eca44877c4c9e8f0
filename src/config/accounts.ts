// This file implements the system's user and group databases from the perspective of a config
// loader that must turn `user = "www-data"` into ids: Node has no getpwnam(3), so the files
// `/etc/passwd` and `/etc/group` are parsed (accounts that only NSS modules such as LDAP or
// sssd know are not seen: give those as numeric ids).

/** Where the user database is read from. */
export const PASSWD_FILE = '/etc/passwd';

/** Where the group database is read from. */
export const GROUP_FILE = '/etc/group';

/** One line of `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  /** The primary group. */
  readonly gid: number;
  /** The home directory. */
  readonly home: string;
}

/** One line of `/etc/group`: `name:password:gid:members`. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
}

/**
 * A `user`, `group`, `listen.owner` or `listen.group` value as written: a name, or a numeric
 * id (a TOML integer, or a string of digits, as PHP-FPM reads `user = 33`).
 */
export type AccountRef =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'id'; readonly id: number };

/** Largest id: `(uid_t) -1` means "unchanged" to chown(2), so it is never an account. */
const MAX_ID = 0xfffffffe;

/** A name as useradd(8) and groupadd(8) accept them, loosely: no `:`, no whitespace, no NUL. */
const NAME_RE = /^[^\s:/\0]+$/;

function id(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value <= MAX_ID ? value : undefined;
}

/**
 * Parses an account value: a string of digits or an integer is an id, another string a name.
 *
 * @throws TypeError naming the value when it is neither (a negative or too large number, an
 *   empty string, a name with `:` or whitespace).
 */
export function parseAccountRef(value: unknown): AccountRef {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_ID) {
    return { kind: 'id', id: value };
  }
  if (typeof value === 'string') {
    const numeric = id(value);
    if (numeric !== undefined) return { kind: 'id', id: numeric };
    if (NAME_RE.test(value) && !/^\d+$/.test(value)) return { kind: 'name', name: value };
  }
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new TypeError(`invalid account ${shown}: expected a name such as "www-data" or a numeric id from 0 to ${MAX_ID}`);
}

/** Formats an {@link AccountRef} as the file writes it: the name, or the id as a number. */
export function formatAccountRef(ref: AccountRef): string | number {
  return ref.kind === 'name' ? ref.name : ref.id;
}

/** The fields of each line of a colon-separated database, comments and blank lines skipped. */
function records(text: string, minFields: number): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= minFields);
}

/**
 * Parses the text of `/etc/passwd`. Lines that are not `name:x:uid:gid:gecos:home:shell` with
 * numeric ids (NIS `+` entries, damage) are skipped; the first line for a name wins, as
 * getpwnam(3) returns it.
 */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const [name = '', , uidText = '', gidText = '', , home = ''] of records(text, 7)) {
    const uid = id(uidText);
    const gid = id(gidText);
    if (name === '' || uid === undefined || gid === undefined) continue;
    out.push({ name, uid, gid, home });
  }
  return out;
}

/** Parses the text of `/etc/group`, as {@link parsePasswd} does `/etc/passwd`. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const [name = '', , gidText = ''] of records(text, 4)) {
    const gid = id(gidText);
    if (name === '' || gid === undefined) continue;
    out.push({ name, gid });
  }
  return out;
}
