// This file implements the process groups a worker reports, from the perspective of the
// supervisor that must kill them should the worker die: a claim is data, not an order (issue
// 10): only `exec` and `python` workers start groups, and the kernel must confirm the group's
// leader descends from the worker (process-groups.ts) when it is named and again when killed.
import type { PoolConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import { killVerifiedGroup, readProcess, verifyGroup, type VerifiedGroup } from './process-groups.ts';
import type { CgiGroupClaim } from './worker-messages.ts';

/** The checked groups of one worker. */
export class WorkerGroups {
  readonly #pool: PoolConfig;
  readonly #log: Logger;
  /** The uid the pool's workers run as (read once: `getuid` was a system call per request). */
  readonly #uid: number;
  /** Process group of the CGI child the request on channel 0 started, if any. */
  #cgi: VerifiedGroup | undefined;
  /** The group every CGI child of the worker runs in (a claim with `scope: "worker"`), if named. */
  #scripts: VerifiedGroup | undefined;
  /**
   * Process groups of runtime children that live across requests (a python worker's runners,
   * one per interpreter), by pgid; the last one named runs the current request.
   */
  readonly #runtimes = new Map<number, VerifiedGroup>();
  #runtime: VerifiedGroup | undefined;

  constructor(pool: PoolConfig, log: Logger) {
    this.#pool = pool;
    this.#log = log;
    this.#uid = pool.user?.uid ?? process.getuid?.() ?? 0;
  }

  /** The persistent runtime's group leader (the python runner's pid), else 0. */
  get runtimeLeader(): number {
    return this.#runtime?.pgid ?? 0;
  }

  /** The leaders of every live runtime group named (a python worker's runners), for its memory. */
  get runtimeLeaders(): number[] {
    return [...this.#runtimes.values()].filter((g) => readProcess(g.pgid)?.startTime === g.startTime).map((g) => g.pgid);
  }

  /**
   * A `cgi-group` message of worker `workerPid`; `channelRequestId` is the request id on its
   * first channel while one runs there (a per-request group is taken only for it).
   */
  claim(message: CgiGroupClaim, workerPid: number, channelRequestId: number | undefined): void {
    const { requestId, pgid, persistent, scope } = message;
    const runtime = this.#pool.runtime;
    const group = runtime === 'exec' || runtime === 'python'
      ? verifyGroup(workerPid, this.#uid, pgid)
      : `a ${runtime} worker starts no process group`;
    if (typeof group === 'string') {
      // A group that already ended (a script that exits at once) is no claim to worry about.
      const level = group === 'no such process' ? 'debug' : 'warn';
      this.#log[level]({ workerPid, pgid: String(pgid), reason: group }, 'cgi group refused');
      return;
    }
    if (scope === 'worker') this.#scripts = group;
    else if (persistent === true) {
      // Runners that ended since are forgotten (their groups were killed with them or are empty).
      for (const [pgid, known] of this.#runtimes) {
        if (readProcess(pgid)?.startTime !== known.startTime) this.#runtimes.delete(pgid);
      }
      this.#runtimes.set(group.pgid, group);
      this.#runtime = group;
    }
    // A direct pool's worker runs its requests unseen by the supervisor, one at a time: its last
    // named group is the running request's (the leader's start time is checked again at a kill).
    else if (this.#pool.dispatch === 'direct' || (channelRequestId !== undefined && requestId === channelRequestId)) this.#cgi = group;
  }

  /** The request on the first channel ended: its group is no longer this worker's to kill. */
  requestEnded(): void {
    this.#cgi = undefined;
  }

  /** The worker is gone: every group it named is killed, each checked again first. */
  killAll(workerPid: number): void {
    for (const group of [this.#cgi, this.#scripts, ...this.#runtimes.values()]) {
      if (group === undefined) continue;
      // The leader must still be the process checked when it was named.
      if (killVerifiedGroup(group) === 'refused') {
        this.#log.warn({ workerPid, pgid: group.pgid, reason: 'pid reused' }, 'cgi group refused');
      }
    }
    this.#cgi = undefined;
    this.#scripts = undefined;
    this.#runtime = undefined;
    this.#runtimes.clear();
  }
}
