// This file implements a config reload (SIGHUP, SIGUSR2, `cgi-fpm reload`) from the perspective
// of a web server that must not notice it: the new file is read and checked first (a bad one
// is refused and the old config keeps running), listening sockets stay open (no gap in
// accepting), unchanged pools keep their workers, changed and added pools start new workers
// and take over once ready, and old pools finish their requests and exit.
import { configProblems } from '../../config/problems.ts';
import { ConfigError } from '../../errors.ts';
import type { DaemonConfig, PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import { groupByListen, closeListener, type Listener } from '../listen/listeners.ts';
import { isDirect } from './direct-listen.ts';
import type { Pool } from '../pool/pool.ts';
import { currentIds, poolUserProblems } from '../pool/pool-identity.ts';
import type { ClientFilter } from '../listen/client-filter.ts';
import type { ConnectionDeps } from '../relay/connection.ts';
import type { ReloadResult } from '../status.ts';

/** One listening address: its server and what its connections route with. */
export interface OpenListener {
  readonly listener: Listener;
  readonly deps: ConnectionDeps;
  /** `listen.allowed_clients`, checked as each connection is accepted. */
  readonly filter: ClientFilter;
}

/** What a reload changes: the supervisor's config, pools and listeners (`Supervisor`). */
export interface ReloadTarget {
  config: DaemonConfig;
  reloads: number;
  readonly pools: Map<string, Pool>;
  readonly listeners: Map<string, OpenListener>;
  readonly deps: { readonly log: Logger; readonly load: (file: string) => Promise<DaemonConfig> };
  /** A pool for `config`, not started. */
  createPool(config: PoolConfig): Pool;
  /** Opens the listener for `address` shared by `group`. @throws DaemonError `ERR_LISTEN` */
  openAddress(address: string, group: readonly PoolConfig[]): Promise<void>;
  /** Routes the listener's connections to `group` from now on. */
  reroute(open: OpenListener, group: readonly PoolConfig[]): void;
  watchHandler(pool: Pool): void;
  unwatchHandler(name: string): void;
}

/** Applies the config file again. Never throws: problems are returned (and logged). */
export async function applyReload(sup: ReloadTarget): Promise<ReloadResult> {
  const { log } = sup.deps;
  const file = sup.config.file;
  log.info({ file }, 'reloading');
  let next: DaemonConfig;
  try {
    next = await sup.deps.load(file);
  } catch (err) {
    const errors = err instanceof ConfigError ? configProblems(err).map((e) => e.message) : [String(err)];
    log.error({ file, errors }, 'reload refused, keeping the running config');
    return { ok: false, errors };
  }
  const userProblems = poolUserProblems(next.pools, currentIds()).map((p) => `reload: ${p}`);
  if (userProblems.length > 0) {
    log.error({ file, errors: userProblems }, 'reload refused, keeping the running config');
    return { ok: false, errors: userProblems };
  }
  const kept: Pool[] = [];
  const started: Pool[] = [];
  for (const config of next.pools) {
    const old = sup.pools.get(config.name);
    if (old !== undefined && JSON.stringify(old.config) === JSON.stringify(config)) kept.push(old);
    else started.push(sup.createPool(config));
  }
  const groups = groupByListen(next.pools);
  const opened: string[] = [];
  try {
    for (const [address, group] of groups) {
      const open = sup.listeners.get(address);
      if (open !== undefined && (open.listener.held !== undefined) !== isDirect(group)) {
        throw new Error(`reload: listen "${address}": dispatch changed between "relay" and "direct"; `
          + 'a listening socket changes hands only at start: restart the daemon (or give the pool a new listen address)');
      }
      if (open !== undefined) continue;
      await sup.openAddress(address, group);
      opened.push(address);
    }
  } catch (err) {
    for (const address of opened) closeOpened(sup, address);
    const message = err instanceof Error ? err.message : String(err);
    log.error({ file, errors: [message] }, 'reload refused, keeping the running config');
    return { ok: false, errors: [message] };
  }
  await Promise.all(started.map((p) => p.start()));
  switchOver(sup, next, started, groups);
  for (const pool of kept) pool.retry();
  sup.reloads += 1;
  log.info({ file, kept: kept.map((p) => p.config.name), started: started.map((p) => p.config.name) }, 'reloaded');
  return { ok: true };
}

/** Makes `next` live: new pools replace old ones, listeners route anew, old pools drain. */
function switchOver(sup: ReloadTarget, next: DaemonConfig, started: readonly Pool[],
  groups: ReadonlyMap<string, readonly DaemonConfig['pools'][number][]>): void {
  const retiring: [Pool, Pool | undefined][] = [];
  for (const pool of started) {
    const old = sup.pools.get(pool.config.name);
    sup.pools.set(pool.config.name, pool);
    sup.watchHandler(pool);
    if (old !== undefined) retiring.push([old, pool]);
  }
  const names = new Set(next.pools.map((p) => p.name));
  for (const [name, pool] of [...sup.pools]) {
    if (names.has(name)) continue;
    sup.pools.delete(name);
    sup.unwatchHandler(name);
    retiring.push([pool, undefined]);
  }
  // The listeners' new deps read the new [global] (timeouts).
  sup.config = next;
  for (const [address, open] of [...sup.listeners]) {
    const group = groups.get(address);
    if (group !== undefined) sup.reroute(open, group);
    else if (open.listener.passedFd !== undefined) parkPassed(sup, address, open);
    else closeOpened(sup, address);
  }
  // Keep the pools in file order (status lists them so); the Map object itself is shared.
  const ordered = next.pools.flatMap((p) => sup.pools.get(p.name) ?? []);
  sup.pools.clear();
  for (const pool of ordered) sup.pools.set(pool.config.name, pool);
  sup.deps.log.level = next.global.logLevel;
  for (const [old] of retiring) {
    // Requests still queued in the old pool are routed again under the new config (issue
    // 10.7: a narrowed root or match must refuse them; the successor or another pool takes
    // the others); those running finish there.
    void old.stop((request) => { request.reroute(); });
  }
}

/**
 * A socket systemd passed and no pool listens on any more stays open, routing to no pool
 * (404): closing it would free its fd number while systemd may still pass it, and a later
 * reload naming it again takes it back.
 */
function parkPassed(sup: ReloadTarget, address: string, open: OpenListener): void {
  sup.reroute(open, []);
  sup.deps.log.warn({ listen: address, fd: open.listener.passedFd }, 'no pool listens on this systemd socket any more, kept open');
}

function closeOpened(sup: ReloadTarget, address: string): void {
  const open = sup.listeners.get(address);
  if (open === undefined) return;
  closeListener(open.listener);
  sup.listeners.delete(address);
}
