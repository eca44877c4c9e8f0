// This file implements `cgi-fpm start` from the perspective of the operator: load and check
// the config, start the supervisor (the control socket, and the embedded HTTP front with
// `--http`) on the sockets systemd passed if any, tell systemd or s6 once ready, answer
// signals, and return the exit code once stopped (sysexits: 64 for a bad `--notify-fd`, 78
// for a bad config, 70 when it cannot start).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.ts';
import { ConfigError, DaemonError, ErrorCode } from '../../errors.ts';
import { startHttpFront } from '../../http/http-front.ts';
import { createLogger, type Logger } from '../../log/logger.ts';
import { openLogOutput, type LogOutput } from '../../log/output.ts';
import { relayWorkerOutput } from './worker-output.ts';
import { startControlServer, type ControlServer } from '../../supervisor/control/control.ts';
import { installLastResort } from '../../supervisor/lifecycle/last-resort.ts';
import { installSignals } from '../../supervisor/lifecycle/signals.ts';
import { Supervisor } from '../../supervisor/lifecycle/supervisor.ts';
import { initialWorkers } from '../../supervisor/pool/pm/index.ts';
import type { DaemonConfig } from '../../config/schema.ts';
import { DEFAULT_READY_TIMEOUT_MS } from '../../systemd/start-gate.ts';
import { awaitPools } from './await-pools.ts';
import { EX_CANTCREAT, EX_CONFIG, EX_SOFTWARE, EX_USAGE } from '../exit-codes.ts';
import { isOpenFd, setUpService, type ServiceSetup } from './start-service.ts';

/** Arguments of `cgi-fpm start`. */
export interface StartArgs {
  /** Path of the TOML config file. */
  readonly config: string;
  /** `HOST:PORT` to also serve plain HTTP on (the embedded front), if given. */
  readonly http?: string | undefined;
  /** s6's notification fd: a newline is written to it once ready, then it is closed. */
  readonly notifyFd?: number | undefined;
  /**
   * Longest wait for every pool's initial workers before giving up (exit 70), in ms; `0`: no
   * bound. Default: {@link DEFAULT_READY_TIMEOUT_MS} when a service manager waits for readiness
   * (`NOTIFY_SOCKET`, `--notify-fd`), else no wait (the daemon serves the pools that work).
   */
  readonly readyTimeoutMs?: number | undefined;
}

/** Bound on sending the last systemd notifications before exiting, in milliseconds. */
const NOTIFY_FLUSH_MS = 2000;

/**
 * Runs the daemon until it is told to stop (SIGTERM, SIGINT, `cgi-fpm stop`).
 * @returns 0 after a graceful stop, 64 (EX_USAGE) when `--notify-fd` is not open, 78
 *   (EX_CONFIG) for a config error or a configured unix socket that is live (another daemon
 *   on it: `ERR_SOCKET_IN_USE`), 70 (EX_SOFTWARE) when it could not start (e.g.
 *   `ERR_LISTEN`, `ERR_LISTEN_FDS`, or a pool still without its initial workers when the
 *   ready timeout passed), 73 (EX_CANTCREAT) when `error_log` cannot be opened.
 */
export async function startCommand(args: StartArgs): Promise<number> {
  const pretty = process.stdout.isTTY;
  if (args.notifyFd !== undefined && !isOpenFd(args.notifyFd)) {
    process.stderr.write(`cgi-fpm: --notify-fd ${args.notifyFd}: file descriptor ${args.notifyFd} is not open\n`);
    return EX_USAGE;
  }
  let config;
  try {
    config = await loadConfig(args.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EX_CONFIG;
  }
  let output: LogOutput;
  try {
    output = openLogOutput(config.global.errorLog);
  } catch (err) {
    process.stderr.write(`cgi-fpm: error_log: cannot open ${String(config.global.errorLog)}: ${(err as Error).message}\n`);
    return EX_CANTCREAT;
  }
  const toFile = output.file !== undefined;
  const log = createLogger({ level: config.global.logLevel, pretty: pretty && !toFile, ...(toFile ? { output } : {}) });
  let service: ServiceSetup;
  try {
    service = setUpService(config, args.notifyFd, log, () => supervisor.status());
  } catch (err) {
    if (!(err instanceof DaemonError)) throw err;
    log.fatal({ err: err.message, code: err.code }, 'failed to start');
    return EX_SOFTWARE;
  }
  const supervisor = new Supervisor(config, {
    log, spawn: toFile ? relayWorkerOutput(spawn, output) : spawn, env: service.workerEnv, pretty: pretty && !toFile,
    now: () => Date.now(), load: loadConfig,
    workerMain: fileURLToPath(new URL('../../worker/main.js', import.meta.url)),
    listenFds: service.listenFds, events: service.readiness,
  });
  // An error nothing caught is logged; the daemon exits (70) only when its state is not sound.
  const removeLastResort = installLastResort({ log, now: () => Date.now(), exit: (code) => process.exit(code) });
  const removeSignals = installSignals({
    stop: () => { supervisor.stop(); },
    reload: () => supervisor.reload(),
    reopenLogs: () => { reopenLogs(output, supervisor, log); },
  }, log);
  let control: ControlServer | undefined;
  try {
    if (config.global.controlSocket !== undefined) control = await startControlServer(config.global.controlSocket, supervisor, log);
    await supervisor.start();
    if (args.http !== undefined) await startHttpFront(args.http, config.pools, log);
  } catch (err) {
    log.fatal({ err: err instanceof DaemonError ? err.message : err }, 'failed to start');
    // A live socket of the config (another daemon on it) is the config's problem: 78, so
    // systemd does not restart into the same refusal (issue 10.6).
    const inUse = socketInUse(err);
    if (inUse) process.stderr.write(`cgi-fpm: ${(err as Error).message}\n`);
    control?.close();
    await supervisor.shutdown();
    await service.readiness.close(NOTIFY_FLUSH_MS);
    removeSignals();
    removeLastResort();
    return inUse ? EX_CONFIG : EX_SOFTWARE;
  }
  const outcome = await awaitPools({
    status: () => supervisor.status(), wanted: initialWorkersByPool(config.pools), readiness: service.readiness, log,
    timeoutMs: args.readyTimeoutMs ?? (service.awaited ? DEFAULT_READY_TIMEOUT_MS : undefined),
    stopped: supervisor.stopped, now: () => Date.now(),
  });
  if (outcome.kind === 'timeout') {
    log.fatal({ pools: outcome.short }, 'failed to start: pools without their initial workers');
    supervisor.stop();
  } else if (outcome.kind !== 'stopped') service.readiness.ready();
  await supervisor.stopped;
  control?.close();
  await service.readiness.close(NOTIFY_FLUSH_MS);
  removeSignals();
  removeLastResort();
  return outcome.kind === 'timeout' ? EX_SOFTWARE : 0;
}

/**
 * SIGUSR1: every log file opened again by its path (logrotate renamed it): `error_log`, said in
 * the new file, then the pools' `access.log` and `slowlog` files.
 */
function reopenLogs(output: LogOutput, supervisor: Supervisor, log: Logger): void {
  if (output.file === undefined && supervisor.logFiles.files.length === 0) {
    log.info({}, 'logs go to stdout: nothing to reopen');
    return;
  }
  supervisor.reopenLogs();
  if (output.file === undefined) return;
  try {
    output.reopen();
    log.info({ file: output.file }, 'log file reopened');
  } catch (err) {
    log.error({ file: output.file, err: (err as Error).message }, 'cannot reopen the log file, still writing to the old one');
  }
}

/** Workers each pool starts with, by name (the readiness rule). */
function initialWorkersByPool(pools: DaemonConfig['pools']): Map<string, number> {
  return new Map(pools.map((p) => [p.name, initialWorkers(p.pm)]));
}

/** True when `err` or one of its causes is `ERR_SOCKET_IN_USE`. */
function socketInUse(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof DaemonError && e.code === ErrorCode.ERR_SOCKET_IN_USE) return true;
  }
  return false;
}
