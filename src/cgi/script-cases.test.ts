// This file implements the tests of script.ts and script-cache.ts from the perspective of the
// case table they share with the python worker's router (script-cases.json, also run by
// runtimes/python/route_test.py): one table, two implementations, a real file system.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveScript, type ScriptRules } from './script.ts';
import { ScriptCache } from './script-cache.ts';
import { syncScriptFs } from './script-fs.ts';
import { build, bytesOf, expectedOf, scriptCases, textOf, type Expected } from './script-cases-peer.ts';

const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'cgi-fpm-script-cases-')));
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });
const tree = join(tmp, 'tree');
mkdirSync(tree);
build(tree, scriptCases.tree);
const places = { tmp: tree, root: join(tree, 'cgi') };

function check(result: object, expected: Expected, at: Readonly<Record<string, string>>): void {
  expect(result).toMatchObject(expectedOf(expected, at));
  if (expected.reasonPrefix !== undefined) {
    expect((result as { reason?: string }).reason?.startsWith(expected.reasonPrefix)).toBe(true);
  }
}

describe('script-cases.json: resolveScript on a real directory', () => {
  it.each(scriptCases.cases)('$name', async ({ scriptFilename, pathInfo, rules: over, expected }) => {
    const rules: ScriptRules = { root: places.root, match: ['**'], requireExecutable: true, ...over };
    const result = await resolveScript(bytesOf(scriptFilename, places), bytesOf(pathInfo, places), rules, syncScriptFs);
    // Every field: the same object, nothing more (toMatchObject would accept extra fields).
    expect(result).toStrictEqual(expectedOf(expected, places));
  });
});

describe('script-cases.json: ScriptCache on a real directory', () => {
  let n = 0;
  it.each(scriptCases.cacheScenarios)('$name', async ({ steps }) => {
    n += 1;
    const dir = join(tmp, `cache-${n}`);
    mkdirSync(dir);
    build(dir, scriptCases.cacheTree);
    const at = { dir };
    const rules: ScriptRules = { root: join(dir, 'root'), match: ['**'], requireExecutable: true };
    let now = 0;
    let cache = new ScriptCache({ now: () => now });
    for (const step of steps) {
      if ('op' in step) build(dir, [step.op]);
      else if ('clock' in step) now = step.clock;
      else if ('maxEntries' in step) cache = new ScriptCache({ now: () => now, maxEntries: step.maxEntries });
      else if ('resolve' in step) {
        const [name, info] = step.resolve;
        check(await cache.resolve(rules, bytesOf(name, at), bytesOf(info, at), syncScriptFs), step.expect, at);
      } else {
        const [name, info] = step.cached;
        const hit = cache.lookup(rules, bytesOf(name, at), bytesOf(info, at));
        expect(hit !== undefined, `${textOf(name, at)}: hit`).toBe(step.hit);
      }
    }
  });
});
