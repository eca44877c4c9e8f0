// This file implements the schema of the TOML file from the perspective of the validator: zod
// schemas for `[global]` and for one `[pools.NAME]` table after its dotted keys were folded
// (flatten.ts), with PHP-FPM's key spellings, the defaults, and units parsed.

import picomatch from 'picomatch';
import { scriptGlobs } from '../cgi/script-globs.ts';
import { z } from 'zod';
import { parseAccountRef } from './accounts.ts';
import { parseAllowedClients } from './allowed-clients.ts';
import { parseSocketMode } from './listen.ts';
import { DEFAULT_ACCESS_FORMAT, parseAccessFormat } from './access-format.ts';
import { DISPATCH_MODES, EXEC_WORKERS, ISOLATIONS, LOG_LEVELS, PM_MODES, RUNTIMES, STATE_POLICIES, STDERR_MODES } from './schema.ts';
import { parseDurationMs, parseSizeBytes } from './units.ts';

/** The pattern pool names must match (they appear in logs, status and worker arguments). */
export const POOL_NAME_RE = /^[A-Za-z0-9_-]+$/;

/** `schema`, then `convert`; a TypeError `convert` throws becomes the issue's message. */
function converted<S extends z.ZodType, T>(schema: S, convert: (value: z.output<S>) => T) {
  return schema.transform((value, ctx): T => {
    try {
      return convert(value);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: error instanceof Error ? error.message : String(error),
        input: value,
      });
      return z.NEVER;
    }
  });
}

function parseDuration(value: unknown): number {
  if (typeof value === 'string' || typeof value === 'number') return parseDurationMs(value);
  throw new TypeError(
    `invalid duration ${String(value)}: expected a string such as "30s" or a number of seconds`,
  );
}

function parseSize(value: unknown): number {
  if (typeof value === 'string' || typeof value === 'number') return parseSizeBytes(value);
  throw new TypeError(`invalid size ${String(value)}: expected a string such as "256MB" or a number of bytes`);
}

function parseGlob(value: string): string {
  if (value.startsWith('/')) {
    throw new TypeError(
      `invalid glob ${JSON.stringify(value)}: globs are relative to root; drop the leading "/"`,
    );
  }
  try {
    picomatch.makeRe(value, { strictBrackets: true });
  } catch (error) {
    throw new TypeError(`invalid glob ${JSON.stringify(value)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // The python worker matches the same expression with python's re (script-globs.ts):
  // what it cannot match as picomatch does is refused here, at load.
  scriptGlobs([value]);
  return value;
}

/** `umask`: an octal string such as `"0027"`; numbers are refused as for `listen.mode`. */
function parseUmask(value: unknown): number {
  if (typeof value === 'string' && /^0?[0-7]{3}$/.test(value)) return Number.parseInt(value, 8);
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new TypeError(`invalid umask ${shown}: write it as an octal string such as "0027"`);
}

const account = converted(z.unknown(), parseAccountRef).optional();
const envName = z.string().regex(/^[^=\0]+$/, 'names must be non-empty, without "=" or NUL');
const envValue = z.string().regex(/^[^\0]*$/, 'values must not contain NUL');
const glob = converted(z.string().min(1), parseGlob);
/** A python module's dotted name, as `import` takes it (`cgi`, `mercurial.hgweb`). */
const moduleName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/u, 'must be a dotted module name such as "mercurial.hgweb"');

/**
 * A URI path the supervisor answers itself (`pm.status_path`, `ping.path`): a leading `/`, then
 * PHP-FPM's allowed characters.
 */
const pagePath = z
  .string()
  .regex(/^\/[A-Za-z0-9/_.~-]*$/, 'must start with "/" and hold only letters, digits and "/_.~-" (as PHP-FPM requires)');

/** `access.format`, checked by parsing it (the supervisor parses it again when it opens the log). */
const accessFormat = converted(z.string().min(1), (value) => {
  parseAccessFormat(value);
  return value;
});

/** The `[global]` table. `control_socket` is resolved against the config file's dir later. */
export const globalSchema = z.strictObject({
  log_level: z.enum(LOG_LEVELS).default('info'),
  control_socket: z.string().min(1).optional(),
  process_control_timeout: converted(z.unknown(), parseDuration).prefault('10s'),
  error_log: z.string().min(1).optional(),
  fastcgi_temp_path: z.string().min(1).optional(),
  client_header_timeout: converted(z.unknown(), parseDuration).prefault('60s'),
  keepalive_timeout: converted(z.unknown(), parseDuration).prefault('75s'),
});

/** One `[pools.NAME]` table, dotted keys folded. Only `listen` and `root` are required. */
export const poolSchema = z.strictObject({
  listen: z.string().min(1),
  'listen.mode': converted(z.unknown(), parseSocketMode).prefault('0660'),
  'listen.owner': account,
  'listen.group': account,
  'listen.backlog': z.int().min(1).default(511),
  'listen.max_connections': z.int().min(1).default(1000),
  'listen.allowed_clients': converted(z.union([z.string(), z.array(z.string())]), parseAllowedClients).optional(),
  'listen.mpxs_conns': z.boolean().default(true),
  root: z.string().min(1),
  user: account,
  group: account,
  umask: converted(z.unknown(), parseUmask).optional(),
  match: z.array(glob).min(1).default(['**']),
  require_executable: z.boolean().default(true),
  runtime: z.enum(RUNTIMES).default('exec'),
  pm: z.enum(PM_MODES).default('static'),
  'pm.max_children': z.int().min(1).default(5),
  'pm.start_servers': z.int().min(1).optional(),
  'pm.min_spare_servers': z.int().min(1).default(1),
  'pm.max_spare_servers': z.int().min(1).default(3),
  'pm.process_idle_timeout': converted(z.unknown(), parseDuration).prefault('10s'),
  'pm.max_requests': z.int().min(0).default(0),
  'pm.max_memory': converted(z.unknown(), parseSize).prefault(0),
  request_slowlog_timeout: converted(z.unknown(), parseDuration).prefault(0),
  slowlog: z.string().min(1).optional(),
  slowlog_stack: z.boolean().default(true),
  'pm.status_path': pagePath.optional(),
  'pm.status_listen': z.string().min(1).optional(),
  'ping.path': pagePath.optional(),
  'ping.response': z.string().regex(/^[^\0]*$/, 'must not contain NUL').default('pong'),
  'access.log': z.string().min(1).optional(),
  'access.format': accessFormat.default(DEFAULT_ACCESS_FORMAT),
  overload_page: z.string().min(1).optional(),
  request_terminate_timeout: converted(z.unknown(), parseDuration).prefault('60s'),
  'queue.max': z.int().min(0).default(100),
  'queue.timeout': converted(z.unknown(), parseDuration).prefault('30s'),
  env: z.record(envName, envValue).default({}),
  clear_env: z.boolean().default(true),
  stderr: z.enum(STDERR_MODES).default('log'),
  'exec.kill_group_at_end': z.boolean().default(true),
  'exec.worker': z.enum(EXEC_WORKERS).optional(),
  'python.executable': z.string().min(1).default('python3'),
  isolation: z.enum(ISOLATIONS).default('persistent'),
  preload: z.array(moduleName).default([]),
  'state.modules': z.enum(STATE_POLICIES).default('reset'),
  'state.globals': z.enum(STATE_POLICIES).default('reset'),
  'handler.module': z.string().min(1).optional(),
  'handler.concurrency': z.int().min(1).max(1000).default(1),
  dispatch: z.enum(DISPATCH_MODES).default('relay'),
});

/** The keys `[global]` accepts, for "did you mean" suggestions. */
export const GLOBAL_KEYS: readonly string[] = Object.keys(globalSchema.shape);

/** The keys a pool accepts (PHP-FPM spellings), for "did you mean" suggestions. */
export const POOL_KEYS: readonly string[] = Object.keys(poolSchema.shape);

/** The keys the top level of the file accepts (`include`: globs of files holding more pools). */
export const TOP_LEVEL_KEYS: readonly string[] = ['global', 'include', 'pools'];

/** The `[global]` table as validated, before `control_socket` is resolved. */
export type GlobalTable = z.output<typeof globalSchema>;

/** A pool table as validated, before paths are resolved and the shape is nested. */
export type PoolTable = z.output<typeof poolSchema>;
