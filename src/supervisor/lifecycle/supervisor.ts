// This file implements the supervisor from the perspective of the daemon's lifecycle: it opens
// the listeners, starts every pool, relays requests while `running`, reloads its config without a
// gap in accepting (`reloading`), and on stop closes the listeners, lets requests in flight finish
// (up to `process_control_timeout`) and then stops the workers.
import type { Socket } from 'node:net';
import { formatListenAddress, type DaemonConfig, type PoolConfig } from '../../config/schema.ts';
import { LogFiles } from '../../log/log-files.ts';
import type { Logger } from '../../log/logger.ts';
import { guardListener, type ListenerGuard } from '../listen/connection-limits.ts';
import { ClientFilter } from '../listen/client-filter.ts';
import { closeListener, groupByListen, openListener, type Listener } from '../listen/listeners.ts';
import { RateLimitedLog } from '../../log/rate-limited.ts';
import type { ObserverDeps } from '../pages/observer.ts';
import { Pool } from '../pool/pool.ts';
import { assertPoolUsers } from '../pool/pool-identity.ts';
import type { SpawnFn } from '../pool/worker-handle.ts';
import { listenerConnectionDeps, listenerStatus, maxConnections, openPoolLogFiles } from './connection-deps.ts';
import { ConnectionCounters } from '../relay/connection-counters.ts';
import { WebConnection, type ConnectionDeps, type RequestDispatch } from '../relay/connection.ts';
import { Router } from '../relay/router.ts';
import type { ControlTarget, DaemonStatus, ReloadResult } from '../status.ts';
import type { SupervisorEvents } from './events.ts';
import { HandlerWatches } from './module-watch.ts';
import { directHold, isDirect } from './direct-listen.ts';
import { applyReload, type OpenListener, type ReloadTarget } from './reload.ts';

/** Supervisor life (STYLE.md): serving, re-reading its config, finishing requests, killing. */
export type SupervisorState = 'starting' | 'running' | 'reloading' | 'finishing' | 'terminating';

/** The supervisor's injected edges. */
export interface SupervisorDeps {
  readonly log: Logger;
  readonly spawn: SpawnFn;
  /** Environment workers are started with (the daemon's own, for `clear_env = false`). */
  readonly env: NodeJS.ProcessEnv;
  /** Absolute path of the built worker entry. */
  readonly workerMain: string;
  readonly pretty: boolean;
  readonly now: () => number;
  /** Reads and checks a config file (reload); throws `ConfigError`. */
  readonly load: (file: string) => Promise<DaemonConfig>;
  /** Sockets systemd passed (socket activation), fd by name, for `listen = "systemd:NAME"`. @defaultValue none */
  readonly listenFds?: ReadonlyMap<string, number>;
  /** Told of lifecycle steps (systemd and s6 readiness). @defaultValue none */
  readonly events?: SupervisorEvents;
}

/** The supervisor: listeners, pools and the relay between them. */
export class Supervisor implements ControlTarget, ReloadTarget {
  state: SupervisorState = 'starting';
  readonly pools = new Map<string, Pool>();
  readonly listeners = new Map<string, OpenListener>();
  config: DaemonConfig;
  reloads = 0;
  readonly deps: SupervisorDeps;
  /** The pools' `access.log` and `slowlog` files, reopened on SIGUSR1. */
  readonly logFiles: LogFiles;
  private readonly observerDeps: ObserverDeps;
  private readonly connections = new Set<WebConnection>();
  /** `pm.status_listen` sockets (opened at start, kept as they are by reloads), by pool. */
  private readonly statusListeners = new Map<string, Listener>();
  /** Settles the wait for the last connection to close (a drain), once it has. */
  private connectionsGone: (() => void) | undefined;
  /**
   * Draining (SIGTERM, `cgi-fpm stop`, `cgi-fpm drain`): not accepting, finishing what the
   * open connections carry. The ping page answers 503 meanwhile. A reload never drains.
   */
  draining = false;
  /** Where every connection's routed requests go: the pool of that name now (reloads swap pools). */
  private readonly dispatch: RequestDispatch = {
    dispatch: (name, request) => {
      const pool = this.pools.get(name);
      if (pool === undefined) return false;
      pool.dispatch(request);
      return true;
    },
    withdraw: (name, request) => { this.pools.get(name)?.withdraw(request); },
  };
  private readonly handlerWatches: HandlerWatches;
  /** Each listener's connection limit, by address (`listen.max_connections`, changed on reload). */
  private readonly guards = new Map<string, ListenerGuard>();
  /** Connections closed by `client_header_timeout` / `keepalive_timeout`: one line a second. */
  private readonly timedOut: RateLimitedLog;
  private readonly startedAtMs: number;
  private shuttingDown: Promise<void> | undefined;
  private markStopped: () => void = () => undefined;
  /** Settles once a stop (signal, `cgi-fpm stop`) has finished: every worker is gone. */
  readonly stopped = new Promise<void>((resolve) => { this.markStopped = resolve; });

  constructor(config: DaemonConfig, deps: SupervisorDeps) {
    this.config = config;
    this.deps = deps;
    this.startedAtMs = deps.now();
    this.handlerWatches = new HandlerWatches(deps.log);
    this.timedOut = new RateLimitedLog(deps.log, 'info', 'connection timed out', deps.now);
    this.logFiles = new LogFiles(deps.log);
    this.observerDeps = {
      pool: (name) => this.pools.get(name), draining: () => this.draining, now: deps.now, files: this.logFiles,
      log: deps.log, pid: process.pid, attributed: new WeakMap(),
    };
  }

  /**
   * Opens listeners and starts every pool; resolves once their initial workers are ready.
   * @throws DaemonError `ERR_POOL_USER` (before opening anything) when a pool has a `user` the
   *   daemon cannot switch to; `ERR_LISTEN` when a listener cannot be opened.
   */
  async start(): Promise<void> {
    assertPoolUsers(this.config.pools);
    openPoolLogFiles(this.logFiles, this.config.pools);
    for (const pool of this.config.pools) this.pools.set(pool.name, this.createPool(pool));
    for (const [address, group] of groupByListen(this.config.pools)) await this.openAddress(address, group);
    for (const pool of this.config.pools) await this.openStatusListen(pool);
    await Promise.all([...this.pools.values()].map((p) => p.start()));
    for (const pool of this.pools.values()) this.watchHandler(pool);
    this.state = 'running';
    this.deps.log.info({ pools: [...this.pools.keys()] }, 'ready to handle connections');
  }

  /** SIGUSR1: the pools' log files opened again by their paths (the daemon's own is cli/'s). */
  reopenLogs(): void {
    this.logFiles.reopen();
  }

  /** Reads and checks the config again, then applies it with no gap in accepting (SIGHUP/USR2). */
  async reload(): Promise<ReloadResult> {
    if (this.state !== 'running') return { ok: false, errors: [`reload: the daemon is ${this.state}`] };
    this.state = 'reloading';
    this.deps.events?.reloading();
    let result: ReloadResult = { ok: false, errors: ['reload: failed'] };
    try {
      result = await applyReload(this);
      return result;
    } finally {
      this.endReload();
      this.deps.events?.reloaded(result);
    }
  }

  private endReload(): void {
    // A stop may have begun meanwhile: it wins.
    if (this.state === 'reloading') this.state = 'running';
  }

  /** Graceful stop (SIGTERM/SIGINT): no new connections, requests in flight finish, workers exit. */
  stop(): void {
    void this.shutdown();
  }

  /**
   * `cgi-fpm drain`: as {@link stop}, answered once every request finished and every worker
   * is gone; `ok: false` when `process_control_timeout` passed and requests were cut short.
   */
  async drain(): Promise<ReloadResult> {
    await this.shutdown();
    if (this.state !== 'terminating') return { ok: true };
    const timeoutMs = this.config.global.processControlTimeoutMs;
    return { ok: false, errors: [`drain: process_control_timeout (${timeoutMs} ms) passed: the requests still running were killed`] };
  }

  /** As {@link stop}, resolving once every worker is gone. */
  async shutdown(): Promise<void> {
    this.shuttingDown ??= this.finish().finally(() => { this.markStopped(); });
    await this.shuttingDown;
  }

  /**
   * The drain: stop accepting; close idle connections now and the others once their requests
   * ended; the pools keep serving what those connections still bring (a balancer may send a
   * request on a kept-alive or multiplexed connection before it sees the host go) until the
   * last connection closed; then the pools stop (their queues run first) and the workers exit.
   * All of it within `process_control_timeout`, after which workers are killed.
   */
  private async finish(): Promise<void> {
    this.state = 'finishing';
    this.draining = true;
    const { log } = this.deps;
    const timeoutMs = this.config.global.processControlTimeoutMs;
    log.info({ connections: this.connections.size, timeoutMs }, 'stopping');
    this.deps.events?.stopping();
    this.handlerWatches.stopAll();
    // Stop accepting now; server.close()'s callback would wait for every kept-alive connection.
    for (const { listener } of this.listeners.values()) closeListener(listener);
    for (const listener of this.statusListeners.values()) closeListener(listener);
    for (const connection of this.connections) connection.shutdown();
    const pools = [...this.pools.values()];
    // process_control_timeout = 0: no limit, wait for every request.
    const deadline = timeoutMs <= 0 ? undefined : setTimeout(() => {
      this.state = 'terminating';
      log.warn({ timeoutMs }, 'process_control_timeout passed, killing workers');
      for (const pool of pools) pool.kill();
      for (const connection of this.connections) connection.destroy();
    }, timeoutMs);
    await this.connectionsClosed();
    await Promise.all(pools.map((p) => p.stop()));
    clearTimeout(deadline);
    for (const connection of this.connections) connection.destroy();
    log.info({}, 'exiting, bye-bye');
  }

  /** Resolves once no web-server connection is open. */
  private connectionsClosed(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.connectionsGone = resolve; });
  }

  /** The daemon's counters, for `cgi-fpm status`. */
  status(): DaemonStatus {
    const now = this.deps.now();
    return {
      pid: process.pid, state: this.state, configFile: this.config.file, startedAtMs: this.startedAtMs,
      uptimeMs: now - this.startedAtMs, reloads: this.reloads, draining: this.draining,
      pools: [...this.pools.values()].map((p) => p.status()),
      listeners: [...this.listeners].map(([listen, open]) => listenerStatus(listen, open)),
    };
  }

  /** A pool for `config`, not started. */
  createPool(config: PoolConfig): Pool {
    return new Pool(config, {
      log: this.deps.log,
      now: this.deps.now,
      files: this.logFiles,
      worker: {
        spawn: this.deps.spawn, workerMain: this.deps.workerMain, env: this.deps.env,
        logLevel: this.config.global.logLevel, pretty: this.deps.pretty, tempPath: this.config.global.fastcgiTempPath,
        listenSocket: () => this.listeners.get(formatListenAddress(config.listen.address))?.listener.held,
      },
    });
  }

  /** Opens the listener for `address` shared by `group`. @throws DaemonError `ERR_LISTEN` */
  async openAddress(address: string, group: readonly PoolConfig[]): Promise<void> {
    const deps = this.connectionDeps(group, new ConnectionCounters());
    const filter = new ClientFilter(address, group[0]?.listen.allowedClients, this.deps.log, this.deps.now);
    const direct = directHold(group, this.deps.workerMain, this.deps.spawn);
    let listener = await openListener(group, (socket) => { if (filter.admit(socket)) this.accept(socket, deps); }, this.deps.listenFds, direct?.onBound);
    if (direct !== undefined) listener = { ...listener, held: await direct.held() };
    else this.guards.set(address, guardListener(listener.server, address, maxConnections(group), this.deps.log, this.deps.now));
    this.listeners.set(address, { listener, deps, filter });
    this.deps.log.info({ listen: listener.address, pools: group.map((p) => p.name), dispatch: isDirect(group) ? 'direct' : 'relay' }, 'listening');
  }

  /**
   * Opens `pool`'s `pm.status_listen`, if any: its connections get the pool's status and ping
   * pages and a 404 for anything else (a router with no pool). Opened once, at start.
   * @throws DaemonError `ERR_LISTEN`
   */
  private async openStatusListen(pool: PoolConfig): Promise<void> {
    const address = pool.status.listen;
    if (address === undefined) return;
    const deps: ConnectionDeps = { ...this.connectionDeps([pool], new ConnectionCounters()), router: new Router([]) };
    const listener = await openListener([{ ...pool, listen: { ...pool.listen, address } }],
      (socket) => { this.accept(socket, deps); }, this.deps.listenFds);
    this.statusListeners.set(pool.name, listener);
    this.deps.log.info({ listen: listener.address, pool: pool.name }, 'listening for status');
  }

  /** Routes the listener's connections to `group` from now on (reload). */
  reroute(open: OpenListener, group: readonly PoolConfig[]): void {
    const fresh = this.connectionDeps(group, open.deps.counters);
    open.deps.router = fresh.router;
    open.deps.values = fresh.values;
    open.deps.timeouts = fresh.timeouts;
    this.guards.get(open.listener.address)?.setMaxConnections(maxConnections(group));
    open.deps.observer = fresh.observer;
    open.deps.maxRequests = fresh.maxRequests;
    open.filter.update(group[0]?.listen.allowedClients);
  }

  /** An edited handler module restarts its pool's workers one at a time (issue 3, item 5). */
  watchHandler(pool: Pool): void {
    this.handlerWatches.watch(pool);
  }

  /** Stops watching a removed pool's handler module. */
  unwatchHandler(name: string): void {
    this.handlerWatches.unwatch(name);
  }

  private accept(socket: Socket, deps: ConnectionDeps): void {
    if (this.state === 'finishing' || this.state === 'terminating') {
      socket.destroy();
      return;
    }
    const connection = new WebConnection(socket, deps);
    this.connections.add(connection);
    socket.once('close', () => {
      this.connections.delete(connection);
      if (this.connections.size === 0) this.connectionsGone?.();
    });
  }

  private connectionDeps(group: readonly PoolConfig[], counters: ConnectionCounters): ConnectionDeps {
    return listenerConnectionDeps(group, counters, {
      config: () => this.config, log: this.deps.log, now: this.deps.now, dispatch: this.dispatch,
      timedOut: this.timedOut, observer: this.observerDeps,
    });
  }
}
