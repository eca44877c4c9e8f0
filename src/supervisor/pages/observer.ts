// This file implements what the supervisor does around the relay of one listener, from the
// perspective of an operator watching it: the status and ping pages of the listener's pools are
// answered here, by the supervisor, without a worker (so they answer while every worker is
// busy); every request's end is seen once — counted in its pool's request-duration histogram
// and written to its pool's access log, the supervisor's own answers (pages, 404/403, 503,
// 502/504) included, a router refusal under the pool whose rules refused it.
import { errorPage, cgiResponse } from '../../cgi/error-page.ts';
import { parseAccessFormat, type AccessFormat } from '../../config/access-format.ts';
import type { PoolConfig } from '../../config/schema.ts';
import type { NameValuePairs } from '../../fastcgi/name-value.ts';
import { accessLine, type AccessEntry } from '../../log/access-line.ts';
import type { LogFiles } from '../../log/log-files.ts';
import type { Logger } from '../../log/logger.ts';
import type { Pool } from '../pool/pool.ts';
import type { RequestObserver } from '../relay/connection.ts';
import type { RelayRequest } from '../relay/relay-request.ts';
import { NO_CACHE, parseStatusQuery, statusResponse } from './status-page.ts';

/** What the observers of all listeners share (one per supervisor). */
export interface ObserverDeps {
  /** The live pool of that name (reloads replace pools). */
  pool(name: string): Pool | undefined;
  /**
   * True while the daemon drains before it stops: ping answers 503 so that load balancers stop
   * sending (issue 15 sets it). @defaultValue false
   */
  draining(): boolean;
  readonly now: () => number;
  readonly files: LogFiles;
  readonly log: Logger;
  /** The supervisor's pid (`%P`, and `%p` of its own answers). */
  readonly pid: number;
  /** Requests answered by the pages or refused by the router: the pool and script they are logged under. */
  readonly attributed: WeakMap<RelayRequest, { readonly pool: string; readonly script: string }>;
}

/** Access formats, parsed once per pool config. */
const formats = new WeakMap<PoolConfig, AccessFormat>();

function accessFormat(config: PoolConfig): AccessFormat {
  let format = formats.get(config);
  if (format === undefined) {
    format = parseAccessFormat(config.access.format);
    formats.set(config, format);
  }
  return format;
}

/** The pages and the end-of-request view of one listener's pools. */
export class ListenerObserver implements RequestObserver {
  readonly #group: readonly PoolConfig[];
  readonly #deps: ObserverDeps;
  /** True when some pool of the listener has a page: else no request pays a lookup. */
  readonly #hasPages: boolean;

  constructor(group: readonly PoolConfig[], deps: ObserverDeps) {
    this.#group = group;
    this.#deps = deps;
    this.#hasPages = group.some((p) => p.status.path !== undefined || p.status.pingPath !== undefined);
  }

  answer(request: RelayRequest, params: NameValuePairs): boolean {
    if (!this.#hasPages) return false;
    const name = params.get('SCRIPT_NAME')?.toString('latin1');
    if (name === undefined || name === '') return false;
    for (const config of this.#group) {
      if (config.status.pingPath === name) {
        this.#deps.attributed.set(request, { pool: config.name, script: name });
        this.#ping(request, config);
        return true;
      }
      if (config.status.path === name) {
        this.#deps.attributed.set(request, { pool: config.name, script: name });
        void this.#status(request, config, params);
        return true;
      }
    }
    return false;
  }

  refused(request: RelayRequest, pool: string | undefined): void {
    if (pool === undefined) return;
    this.#deps.attributed.set(request, { pool, script: request.params?.get('SCRIPT_FILENAME')?.toString() ?? '' });
  }

  ended(request: RelayRequest): void {
    const { attributed, now } = this.#deps;
    const marked = attributed.get(request);
    const name = request.route?.pool.name ?? marked?.pool;
    if (name === undefined) return; // given up before routing: no pool to count it in
    const pool = this.#deps.pool(name);
    const config = request.route?.pool ?? pool?.config ?? this.#group.find((p) => p.name === name);
    const endedAtMs = now();
    pool?.stats.durations.observe(Math.max(0, endedAtMs - request.startedAtMs) / 1000);
    const path = config?.access.log;
    if (config === undefined || path === undefined) return;
    const entry: AccessEntry = {
      pool: name, script: request.route?.scriptFilename.toString() ?? marked?.script ?? '',
      status: request.status === 0 ? 499 : request.status, startedAtMs: request.startedAtMs, endedAtMs,
      params: request.params, pid: request.workerPid === 0 ? this.#deps.pid : request.workerPid,
      supervisorPid: this.#deps.pid, ...(request.workerPid === 0 ? {} : { bytes: request.stdoutBytes }),
      ...(request.usage === undefined ? {} : { cpuPercent: request.usage.cpuPercent, memoryBytes: request.usage.memoryBytes }),
    };
    this.#deps.files.write(path, accessLine(accessFormat(config), entry));
  }

  /** `ping.path`: `ping.response` (200, text/plain), or 503 while the daemon drains. */
  #ping(request: RelayRequest, config: PoolConfig): void {
    if (this.#deps.draining()) {
      request.answer(503, errorPage(503, [['Retry-After', '1'], ...NO_CACHE]));
      return;
    }
    request.answer(200, cgiResponse(200, 'text/plain', Buffer.from(config.status.pingResponse), NO_CACHE));
  }

  /** `pm.status_path`: the pool's counters in the asked format (workers' memory read first). */
  async #status(request: RelayRequest, config: PoolConfig, params: NameValuePairs): Promise<void> {
    const pool = this.#deps.pool(config.name);
    if (pool === undefined) {
      request.answer(503, errorPage(503, [['Retry-After', '1']]));
      return;
    }
    try {
      const query = parseStatusQuery(params.get('QUERY_STRING')?.toString('latin1') ?? '', params.get('HTTP_ACCEPT')?.toString('latin1'));
      if (query.full || query.format === 'openmetrics') await pool.sampleMemory();
      const page = await statusResponse(pool.status(), pool.stats.durations, query, this.#deps.now());
      request.answer(200, page);
    } catch (err) {
      this.#deps.log.error({ pool: config.name, err }, 'status page failed');
      request.answer(500, errorPage(500));
    }
  }
}
