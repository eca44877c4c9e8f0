// This file implements the on-disk check of `[global] fastcgi_temp_path` from the perspective of
// the loader: the directory the supervisor spills held responses to must exist when the config
// is loaded (start, reload, `cgi-fpm check`), not first fail under a large upload.
import type { ConfigError } from '../errors.ts';
import type { ConfigFs } from './normalize.ts';
import { configProblem, describeSystemError } from './problems.ts';

/**
 * The problem with `fastcgi_temp_path` (an absolute path, or `undefined` for the system's
 * temporary directory, not checked), or none.
 * @param file - absolute path of the config file, for the message
 * @returns the problems (at most one), naming the key, the value and the reason
 */
export async function tempPathProblems(file: string, path: string | undefined, fs: ConfigFs): Promise<ConfigError[]> {
  if (path === undefined) return [];
  const fail = (why: string, options?: ErrorOptions): ConfigError[] => [
    configProblem(file, `global.fastcgi_temp_path must be an existing directory, got ${JSON.stringify(path)}: ${why}`,
      { key: 'global.fastcgi_temp_path' }, undefined, options),
  ];
  try {
    return (await fs.stat(path)).isDirectory() ? [] : fail('not a directory');
  } catch (error) {
    return fail(describeSystemError(error), { cause: error });
  }
}
