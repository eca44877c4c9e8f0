// This file implements a script's CommonJS module from the perspective of one run: a fresh
// `module` (so `module.exports` and `require.main === module` behave as for a main script) and
// a `require` resolving from the script's own file, over the worker's one module cache.
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { CompiledScript } from './script-cache.ts';

/** The `module` object a script sees: what Node's loader gives a main module. */
export interface ScriptModule {
  readonly id: '.';
  readonly path: string;
  readonly filename: string;
  exports: unknown;
  loaded: boolean;
  readonly children: unknown[];
  readonly paths: readonly string[];
  readonly require: NodeJS.Require;
}

/**
 * A fresh main module for one run of `script`: `require.main === module`, and `require`
 * resolving from the script's file over the worker's one module cache.
 */
export function scriptModule(script: CompiledScript): ScriptModule {
  const { filename, dirname: directory } = script;
  const require = createRequire(filename);
  const module: ScriptModule = {
    id: '.',
    path: directory,
    filename,
    exports: {},
    loaded: false,
    children: [],
    paths: [...modulePathsOf(directory)],
    require,
  };
  Object.defineProperty(require, 'main', {
    value: module,
    writable: true,
    enumerable: true,
    configurable: true,
  });
  return module;
}

/**
 * Evaluates the script's body in `module`, with `this` = `module.exports` as in Node.
 * Whatever the script throws propagates.
 */
export function invokeScript(script: CompiledScript, module: ScriptModule): void {
  script.fn.call(module.exports, module.exports, module.require, module, script.filename, script.dirname);
  module.loaded = true;
}

/** {@link nodeModulesPaths} by directory, computed once (a copy is handed to each run). */
const modulePaths = new Map<string, readonly string[]>();

function modulePathsOf(dir: string): readonly string[] {
  let paths = modulePaths.get(dir);
  if (paths === undefined) {
    paths = nodeModulesPaths(dir);
    // Bounded like the script cache: a pool's scripts live in a handful of directories.
    if (modulePaths.size >= 1024) modulePaths.clear();
    modulePaths.set(dir, paths);
  }
  return paths;
}

/** `module.paths` of a script in `dir`: `node_modules` in it and in each parent, nearest first. */
export function nodeModulesPaths(dir: string): string[] {
  const paths: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    if (basename(current) !== 'node_modules') paths.push(join(current, 'node_modules'));
    if (dirname(current) === current) return paths;
  }
}
