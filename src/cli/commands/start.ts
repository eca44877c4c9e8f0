// This file implements `cgi-fpm start` from the perspective of the operator: load and check
// the config, start the supervisor (the control socket, and the embedded HTTP front with
// `--http`), answer signals, and return the exit code once stopped (sysexits: 78 for a bad
// config, 70 when it cannot start).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.ts';
import { ConfigError, DaemonError } from '../../errors.ts';
import { startHttpFront } from '../../http/http-front.ts';
import { createLogger } from '../../log/logger.ts';
import { startControlServer, type ControlServer } from '../../supervisor/control.ts';
import { installSignals } from '../../supervisor/signals.ts';
import { Supervisor } from '../../supervisor/supervisor.ts';
import { EX_CONFIG, EX_SOFTWARE } from '../exit-codes.ts';

/** Arguments of `cgi-fpm start`. */
export interface StartArgs {
  /** Path of the TOML config file. */
  readonly config: string;
  /** `HOST:PORT` to also serve plain HTTP on (the embedded front), if given. */
  readonly http?: string | undefined;
}

/**
 * Runs the daemon until it is told to stop (SIGTERM, SIGINT, `cgi-fpm stop`).
 * @returns 0 after a graceful stop, 78 (EX_CONFIG) for a config error, 70 (EX_SOFTWARE) when
 *   it could not start (e.g. `ERR_LISTEN`).
 */
export async function startCommand(args: StartArgs): Promise<number> {
  const pretty = process.stdout.isTTY;
  let config;
  try {
    config = await loadConfig(args.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EX_CONFIG;
  }
  const log = createLogger({ level: config.global.logLevel, pretty });
  const supervisor = new Supervisor(config, {
    log, spawn, env: process.env, pretty, now: () => Date.now(), load: loadConfig,
    workerMain: fileURLToPath(new URL('../../worker/main.js', import.meta.url)),
  });
  const removeSignals = installSignals({
    stop: () => { supervisor.stop(); },
    reload: () => supervisor.reload(),
    reopenLogs: () => { log.info({}, 'logs go to stdout: nothing to reopen'); },
  }, log);
  let control: ControlServer | undefined;
  try {
    if (config.global.controlSocket !== undefined) control = await startControlServer(config.global.controlSocket, supervisor, log);
    await supervisor.start();
    if (args.http !== undefined) await startHttpFront(args.http, config.pools, log);
  } catch (err) {
    log.fatal({ err: err instanceof DaemonError ? err.message : err }, 'failed to start');
    control?.close();
    await supervisor.shutdown();
    removeSignals();
    return EX_SOFTWARE;
  }
  await supervisor.stopped;
  control?.close();
  removeSignals();
  return 0;
}
