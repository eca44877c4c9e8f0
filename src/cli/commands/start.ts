// This file implements `cgi-fpm start` from the perspective of the operator: load and check
// the config, start the supervisor (and the embedded HTTP front with `--http`), stop
// gracefully on SIGTERM/SIGINT, and return the exit code (sysexits: 78 for a bad config).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.ts';
import { ConfigError, DaemonError } from '../../errors.ts';
import { createLogger } from '../../log/logger.ts';
import { Supervisor } from '../../supervisor/supervisor.ts';
import { startHttpFront } from '../../http/http-front.ts';
import { EX_CONFIG, EX_SOFTWARE } from '../exit-codes.ts';

/** Arguments of `cgi-fpm start`. */
export interface StartArgs {
  /** Path of the TOML config file. */
  readonly config: string;
  /** `HOST:PORT` to also serve plain HTTP on (the embedded front), if given. */
  readonly http?: string | undefined;
}

/**
 * Runs the daemon until it is told to stop.
 * @returns 0 after a graceful stop, 78 (EX_CONFIG) for a config error, 70 (EX_SOFTWARE) when
 *   it could not start (e.g. `ERR_LISTEN`).
 */
export async function startCommand(args: StartArgs): Promise<number> {
  const pretty = process.stdout.isTTY;
  let config;
  try {
    config = await loadConfig(args.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  const log = createLogger({ level: config.global.logLevel, pretty });
  const supervisor = new Supervisor(config, {
    log, spawn, env: process.env, pretty, now: () => Date.now(),
    workerMain: fileURLToPath(new URL('../../worker/main.js', import.meta.url)),
  });
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'received signal, stopping');
      void supervisor.stop().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  try {
    await supervisor.start();
    if (args.http !== undefined) await startHttpFront(args.http, config.pools, log);
  } catch (err) {
    log.fatal({ err: err instanceof DaemonError ? err.message : err }, 'failed to start');
    await supervisor.stop();
    return EX_SOFTWARE;
  }
  await stopped;
  return 0;
}
