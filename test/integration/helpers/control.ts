// This file implements the daemon's control socket from the perspective of an integration test
// that reads the status and asks for reloads: directly on the socket (one JSON line out, one
// back: fast enough to poll every few ms) and through the built CLI (`cgi-fpm status --json`,
// `cgi-fpm reload`), the way an operator does.
import { connect } from 'node:net';
import { join } from 'node:path';
import type { DaemonStatus, PoolStatus } from '../../../src/supervisor/status.ts';
import { runCli, type CliResult } from './cli.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

export type { DaemonStatus, PoolStatus } from '../../../src/supervisor/status.ts';

/** The control socket's file name, relative to the config file's directory. */
export const CONTROL_SOCKET_NAME = 'control.sock';

/** `[global]` keys that give a stack a control socket (`StackOptions.global`). */
export const CONTROL_GLOBAL = { control_socket: CONTROL_SOCKET_NAME } as const;

/** The control socket of a stack whose config lives in `dir` with {@link CONTROL_GLOBAL}. */
export function controlSocketIn(dir: string): string {
  return join(dir, CONTROL_SOCKET_NAME);
}

/**
 * Sends one command on the control socket and resolves with the reply line parsed as JSON.
 *
 * @param timeoutMs - bound on the whole exchange, in milliseconds @defaultValue {@link EVENT_TIMEOUT_MS}
 * @throws Error on a connection failure, a reply that is not JSON, or when the bound passes
 */
export function controlRequest(
  socketPath: string,
  command: 'status' | 'reload' | 'stop',
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`control: ${command}: no reply within ${timeoutMs} ms on ${socketPath}`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify({ command })}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`control: ${command}: ${err.message}`, { cause: err }));
    });
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
      const line = Buffer.concat(chunks).toString('utf8').split('\n', 1)[0] ?? '';
      try {
        resolve(JSON.parse(line));
      } catch (err) {
        reject(new Error(`control: ${command}: reply is not JSON: ${JSON.stringify(line)}`, { cause: err }));
      }
    });
  });
}

function asStatus(reply: unknown, where: string): DaemonStatus {
  const r = reply as { ok?: unknown; status?: unknown; errors?: unknown };
  if (r.ok !== true || typeof r.status !== 'object' || r.status === null) {
    throw new Error(`${where}: not a status reply: ${JSON.stringify(reply)}`);
  }
  return r.status as DaemonStatus;
}

/** The daemon's status, read directly on the control socket. */
export async function daemonStatus(socketPath: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<DaemonStatus> {
  return asStatus(await controlRequest(socketPath, 'status', timeoutMs), 'control: status');
}

/** One pool of `status`. @throws Error when the daemon has no pool `name` */
export function poolOf(status: DaemonStatus, name: string): PoolStatus {
  const pool = status.pools.find((p) => p.name === name);
  if (pool === undefined)
    throw new Error(`status: no pool ${JSON.stringify(name)} in ${JSON.stringify(status)}`);
  return pool;
}

/** One pool's status, read directly on the control socket. */
export async function poolStatus(socketPath: string, name: string): Promise<PoolStatus> {
  return poolOf(await daemonStatus(socketPath), name);
}

/** Requests a pool's workers served, summed over the processes of its status (the heartbeat's counts). */
export function servedTotal(pool: PoolStatus): number {
  return pool.processes.reduce((n, p) => n + p.requests, 0);
}

/** Waits until the heartbeat's counts of pool `name` sum to `total`; resolves with that status. */
export function heartbeatCounted(socketPath: string, name: string, total: number): Promise<PoolStatus> {
  return waitUntil(`the heartbeat counted ${total} requests`, async () => {
    const now = await poolStatus(socketPath, name);
    return servedTotal(now) === total ? now : undefined;
  }, EVENT_TIMEOUT_MS);
}

/** Workers of a pool that are alive (spawning, idle or busy). */
export function liveWorkers(pool: PoolStatus): number {
  return pool.idle + pool.busy + pool.spawning;
}

/**
 * `cgi-fpm status --json -c FILE` with the built CLI.
 *
 * @throws Error with the CLI's output when it exits non-zero or prints no JSON status
 */
export async function cliStatus(configFile: string, cwd: string): Promise<DaemonStatus> {
  const result = await runCli(['status', '--json', '-c', configFile], cwd);
  if (result.code !== 0) {
    throw new Error(`cgi-fpm status --json: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  try {
    return JSON.parse(result.stdout) as DaemonStatus;
  } catch (err) {
    throw new Error(`cgi-fpm status --json: not JSON: ${result.stdout}`, { cause: err });
  }
}

/** `cgi-fpm reload -c FILE` with the built CLI: its exit code and output. */
export function cliReload(configFile: string, cwd: string): Promise<CliResult> {
  return runCli(['reload', '-c', configFile], cwd);
}
