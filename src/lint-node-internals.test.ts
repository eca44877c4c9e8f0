// This file implements the test of the lint rule that keeps `src/` on Node's public APIs (issue
// 12), from the perspective of a reviewer who must trust that the rule still catches what it is
// for: the rule block is taken from eslint.config.js itself and run over small snippets.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

interface ConfigBlock {
  readonly files?: readonly string[];
  readonly rules?: Linter.RulesRecord;
}

/** The rules eslint.config.js applies to `src/**` for Node internals. */
async function internalsRules(): Promise<Linter.RulesRecord> {
  const url = pathToFileURL(join(import.meta.dirname, '..', 'eslint.config.js')).href;
  const blocks = ((await import(url)) as { default: readonly ConfigBlock[] }).default;
  const block = blocks.find((b) => b.files?.includes('src/**/*.ts') === true && b.rules?.['no-restricted-syntax']);
  if (block?.rules === undefined) throw new Error('eslint.config.js: no Node internals rule block for src/**/*.ts');
  return block.rules;
}

async function problems(code: string): Promise<string[]> {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    code,
    [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, rules: await internalsRules() }],
    'src/example.ts',
  );
  return messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('lint rule: Node public APIs only in src/', () => {
  it.each([
    ['a private field', 'if (timer._destroyed) stop();'],
    ['a private method', 'process._getActiveHandles();'],
    ['a computed private key', "const handle = socket['_handle'];"],
    ['a private static of a builtin', "import Module from 'node:module'; Module._load('x');"],
    ['a destructured private member', 'const { _idleTimeout } = timer;'],
    ['a typed private member', 'interface Probe { _destroyed?: boolean }'],
    ['a private member read by Reflect', "Reflect.get(timer, '_destroyed');"],
    ['a private member tested with in', "if ('_handle' in socket) stop();"],
    ['an internal module', "require('internal/timers');"],
    ['process.binding', "process.binding('fs');"],
    ['async_hooks.createHook', "import { createHook } from 'node:async_hooks';"],
    ['executionAsyncResource', "import { executionAsyncResource } from 'async_hooks';"],
  ])('flags %s', async (_name, code) => {
    const found = await problems(code);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^no-restricted-(syntax|properties|imports): /);
  });

  it.each([
    ['a stream implementation', 'class S extends Writable { override _write() {} override _final() {} }'],
    ['a call of a documented stream method', 'stream._read(16);'],
    ["yargs' positional arguments", 'args._.length;'],
    ['AsyncLocalStorage', "import { AsyncLocalStorage } from 'node:async_hooks';"],
    ['a variable named with an underscore', 'const { HOME: _home, ...rest } = env;'],
  ])('allows %s', async (_name, code) => {
    expect(await problems(code)).toEqual([]);
  });
});
