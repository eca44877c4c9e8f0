// This file implements `listen.allowed_clients` from the perspective of the listener accepting
// a connection: Node's `BlockList` (which also matches an IPv4 rule against the `::ffff:a.b.c.d`
// form a dual-stack socket reports) says whether the peer is let in; a refused peer's socket is
// destroyed before a byte is read, and its refusals are logged once per address per minute, so
// a scanner cannot flood the log or grow memory without bound.
import { BlockList, isIPv4, type Socket } from 'node:net';
import type { ClientRange } from '../../config/allowed-clients.ts';
import type { Logger } from '../../log/logger.ts';

/** Refusals of one address are logged at most once per this many ms. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Addresses remembered for the log's rate limit; past it, the oldest are forgotten. */
export const MAX_REMEMBERED_ADDRESSES = 4096;

/** Whether an address is inside the allowed ranges. */
export interface ClientMatcher {
  allows(address: string | undefined): boolean;
}

/**
 * A matcher for `ranges`; an address that is not an IP literal (a socket without a peer) is
 * refused.
 */
export function clientMatcher(ranges: readonly ClientRange[]): ClientMatcher {
  const list = new BlockList();
  for (const r of ranges) list.addSubnet(r.address, r.prefix, r.family);
  return {
    allows: (address) => {
      if (address === undefined || address === '') return false;
      try {
        return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
      } catch {
        return false;
      }
    },
  };
}

/** One refused address: when it was last logged and how many refusals came since. */
interface Refusals {
  loggedAtMs: number;
  count: number;
}

/**
 * The accept filter of one listener: {@link ClientFilter.admit} lets a socket through or
 * destroys it. Counts what it refused (for `cgi-fpm status`).
 */
export class ClientFilter {
  #matcher: ClientMatcher | undefined;
  readonly #listen: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #refusals = new Map<string, Refusals>();
  /** Connections closed because their peer was not allowed. */
  refused = 0;

  constructor(listen: string, ranges: readonly ClientRange[] | undefined, log: Logger, now: () => number) {
    this.#listen = listen;
    this.#log = log;
    this.#now = now;
    this.update(ranges);
  }

  /** The list after a reload (applies to connections accepted from now on). */
  update(ranges: readonly ClientRange[] | undefined): void {
    this.#matcher = ranges === undefined ? undefined : clientMatcher(ranges);
  }

  /** True when `socket` may be served; otherwise it is destroyed (and the refusal counted). */
  admit(socket: Socket): boolean {
    const matcher = this.#matcher;
    if (matcher === undefined) return true;
    const address = socket.remoteAddress;
    if (matcher.allows(address)) return true;
    socket.destroy();
    this.refused += 1;
    this.#noteRefusal(address ?? '(unknown)');
    return false;
  }

  #noteRefusal(address: string): void {
    const now = this.#now();
    const seen = this.#refusals.get(address);
    if (seen !== undefined && now - seen.loggedAtMs < REFUSAL_LOG_INTERVAL_MS) {
      seen.count += 1;
      return;
    }
    const since = seen?.count ?? 0;
    this.#refusals.delete(address); // re-inserted last: the map's order is the log order
    this.#refusals.set(address, { loggedAtMs: now, count: 0 });
    if (this.#refusals.size > MAX_REMEMBERED_ADDRESSES) this.#forgetOldest(now);
    this.#log.warn({ listen: this.#listen, remote: address, refusedSinceLastLog: since }, 'client refused');
  }

  /** Drops addresses whose minute has passed, or at least the oldest one. */
  #forgetOldest(now: number): void {
    for (const [address, r] of this.#refusals) {
      if (this.#refusals.size <= MAX_REMEMBERED_ADDRESSES && now - r.loggedAtMs < REFUSAL_LOG_INTERVAL_MS) return;
      this.#refusals.delete(address);
    }
  }
}
