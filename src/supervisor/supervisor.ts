// This file implements the supervisor from the perspective of the daemon's lifecycle: it
// opens the listeners, starts every pool and waits until each worker said ready, relays
// requests while `running`, and on stop closes the listeners, lets requests in flight finish
// (up to `process_control_timeout`) and then stops the workers.
import type { Socket } from 'node:net';
import type { DaemonConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { WebConnection, type ConnectionDeps } from './connection.ts';
import { closeListener, groupByListen, openListener, type Listener } from './listeners.ts';
import { Pool } from './pool.ts';
import type { RelayRequest } from './relay-request.ts';
import { Router } from './router.ts';
import { watchModule } from './module-watch.ts';
import type { SpawnFn } from './worker-handle.ts';

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
}

/** Time requests in flight get to finish on stop before workers are killed. */
const PROCESS_CONTROL_TIMEOUT_MS = 10_000;

/** The supervisor: listeners, pools and the relay between them. */
export class Supervisor {
  state: SupervisorState = 'starting';
  readonly pools = new Map<string, Pool>();
  private readonly listeners: Listener[] = [];
  private readonly connections = new Set<WebConnection>();
  private readonly config: DaemonConfig;
  private readonly deps: SupervisorDeps;
  private readonly unwatch: (() => void)[] = [];

  constructor(config: DaemonConfig, deps: SupervisorDeps) {
    this.config = config;
    this.deps = deps;
  }

  /** The listeners opened, in config order. */
  get addresses(): readonly string[] {
    return this.listeners.map((l) => l.address);
  }

  /** Opens listeners and starts every pool; resolves once all workers are ready. */
  async start(): Promise<void> {
    const { log } = this.deps;
    for (const pool of this.config.pools) {
      this.pools.set(pool.name, new Pool(pool, {
        log,
        now: this.deps.now,
        answer: (request, status, page) => { request.sink.answer(request, status, page); },
        worker: {
          spawn: this.deps.spawn, workerMain: this.deps.workerMain, env: this.deps.env,
          logLevel: this.config.global.logLevel, pretty: this.deps.pretty,
        },
      }));
    }
    for (const group of groupByListen(this.config.pools).values()) {
      const connectionDeps = this.connectionDeps(group.map((p) => p.name));
      const listener = await openListener(group, (socket) => { this.accept(socket, connectionDeps); });
      this.listeners.push(listener);
      log.info({ listen: listener.address, pools: group.map((p) => p.name) }, 'listening');
    }
    await Promise.all([...this.pools.values()].map((p) => p.start()));
    for (const pool of this.pools.values()) this.watchHandler(pool);
    this.state = 'running';
    log.info({ pools: [...this.pools.keys()] }, 'ready to handle connections');
  }

  /** Graceful stop: no new connections, requests in flight finish, workers exit. */
  async stop(): Promise<void> {
    if (this.state === 'finishing' || this.state === 'terminating') return;
    this.state = 'finishing';
    this.deps.log.info({}, 'stopping');
    for (const stop of this.unwatch.splice(0)) stop();
    // Stop accepting now; server.close()'s callback would wait for every kept-alive connection.
    for (const listener of this.listeners) closeListener(listener);
    for (const connection of this.connections) connection.shutdown();
    const pools = [...this.pools.values()];
    const deadline = setTimeout(() => {
      this.state = 'terminating';
      this.deps.log.warn({ timeoutMs: PROCESS_CONTROL_TIMEOUT_MS }, 'process_control_timeout passed, killing workers');
      for (const pool of pools) pool.kill();
    }, PROCESS_CONTROL_TIMEOUT_MS);
    await Promise.all(pools.map((p) => p.stop()));
    clearTimeout(deadline);
    for (const connection of this.connections) connection.destroy();
    this.deps.log.info({}, 'exiting, bye-bye');
  }

  /** An edited handler module restarts its pool's workers one at a time (issue 3, item 5). */
  private watchHandler(pool: Pool): void {
    const path = pool.config.handler.module;
    if (pool.config.runtime !== 'handler' || path === undefined) return;
    const log = this.deps.log.child({ pool: pool.config.name });
    this.unwatch.push(watchModule(path, () => {
      log.info({ module: path }, 'handler module changed, restarting workers');
      void pool.restartWorkers();
    }, (err) => { log.warn({ module: path, err: err.message }, 'cannot watch handler module'); }));
  }

  private accept(socket: Socket, deps: ConnectionDeps): void {
    if (this.state === 'finishing' || this.state === 'terminating') {
      socket.destroy();
      return;
    }
    const connection = new WebConnection(socket, deps);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  private connectionDeps(poolNames: readonly string[]): ConnectionDeps {
    const pools = this.config.pools.filter((p) => poolNames.includes(p.name));
    const maxReqs = pools.reduce((n, p) => n + p.pm.maxChildren, 0);
    return {
      router: new Router(pools),
      pools: this.pools,
      log: this.deps.log,
      now: this.deps.now,
      values: { FCGI_MAX_CONNS: '1000', FCGI_MAX_REQS: String(maxReqs), FCGI_MPXS_CONNS: '0' },
      logRequest: (request, status, bytes) => { this.logRequest(request, status, bytes); },
    };
  }

  private logRequest(request: RelayRequest, status: number, bytes: number): void {
    this.deps.log.info({
      pool: request.route?.pool.name, script: request.route?.scriptFilename, status, bytes,
      ms: this.deps.now() - request.startedAtMs,
    }, 'request');
  }
}
