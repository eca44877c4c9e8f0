// This file implements `listen.allowed_clients` from the perspective of an operator who lets
// only the front ends in: PHP-FPM's list of addresses (a comma-separated string, or a TOML
// array), extended with CIDR ranges, IPv4 and IPv6 alike, read once into normalized ranges
// that the supervisor's accept filter checks (supervisor/listen/client-filter.ts).

import { isIPv4, isIPv6 } from 'node:net';

/** One allowed range: a network address and its prefix length (a single address is /32 or /128). */
export interface ClientRange {
  readonly family: 'ipv4' | 'ipv6';
  /** The address as written (normalized for IPv6: `0:0::1` → `::1`). */
  readonly address: string;
  /** Prefix length in bits: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
}

/** `::ffff:a.b.c.d`: an IPv4 address as a dual-stack socket shows it. */
const V4_MAPPED_RE = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::1` from `[::1]` or `0:0::1`. */
function normalizeV6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/**
 * One entry: `10.0.0.7`, `10.0.0.0/8`, `::1`, `[::1]`, `fd00::/8`, `::ffff:10.0.0.7` (taken as
 * the IPv4 address it maps, so a rule matches a client whichever socket family it came on).
 * @throws TypeError naming the entry and why it is not an address or range
 */
export function parseClientRange(entry: string): ClientRange {
  const text = entry.trim();
  const slash = text.indexOf('/');
  let host = slash === -1 ? text : text.slice(0, slash);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  const mapped = V4_MAPPED_RE.exec(host)?.[1];
  const family = isIPv4(host) ? 'ipv4' : isIPv6(host) ? 'ipv6' : undefined;
  if (family === undefined) {
    throw new TypeError(`${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR range (host names are not resolved)`);
  }
  const bits = family === 'ipv4' ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (!(prefix >= 0 && prefix <= bits)) {
      throw new TypeError(`${JSON.stringify(entry)}: the prefix length must be 0 to ${bits}`);
    }
  }
  if (mapped !== undefined && isIPv4(mapped) && prefix >= 96) {
    return { family: 'ipv4', address: mapped, prefix: prefix - 96 };
  }
  return { family, address: family === 'ipv6' ? normalizeV6(host) : host, prefix };
}

/**
 * Parses `listen.allowed_clients`: a comma-separated string (PHP-FPM's spelling) or an array of
 * entries (see {@link parseClientRange}). An empty list, or the key left out, lets every
 * client in (PHP-FPM's default, `any`).
 *
 * @returns the ranges in the order written, or `undefined` for "any client"
 * @throws TypeError naming the first entry that is not an address or range
 * @see PHP-FPM `listen.allowed_clients`
 */
export function parseAllowedClients(value: string | readonly string[]): readonly ClientRange[] | undefined {
  const entries = (typeof value === 'string' ? value.split(',') : value).map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0 || entries.some((e) => e.toLowerCase() === 'any')) return undefined;
  return entries.map(parseClientRange);
}

/** A range as the file spells it: `10.0.0.0/8`, `::1`. */
export function formatClientRange(range: ClientRange): string {
  const bits = range.family === 'ipv4' ? 32 : 128;
  return range.prefix === bits ? range.address : `${range.address}/${range.prefix}`;
}
