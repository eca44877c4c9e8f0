import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatePolicy } from '../../../config/schema.ts';
import type { RuntimeHost } from '../types.ts';
import { runScript, scriptDir, startRuntime, type ScriptDir } from './runtime-test-peer.ts';

const HEAD = 'print("Content-Type: text/plain")\nprint()\n';

const scripts: Record<string, string> = {
  // A helper module next to the script, imported from its directory (sys.path[0]).
  'counter_helper.py': 'count = 0\n\ndef bump():\n    global count\n    count += 1\n    return count\n',
  'module-counter.py': `import counter_helper\n${HEAD}print(counter_helper.bump())\n`,
  'global-counter.py': `try:\n    counter += 1\nexcept NameError:\n    counter = 1\n${HEAD}print(counter)\n`,
  'modules-seen.py': `import sys\n${HEAD}print("counter_helper" in sys.modules, "colorsys" in sys.modules)\nimport colorsys\n`,
  'edit-me.py': `try:\n    kept += 1\nexcept NameError:\n    kept = 1\n${HEAD}print("v1", kept)\n`,
  'path-append.py': `import sys\nsys.path.append("/nonexistent-lib")\n${HEAD}print(sys.path.count("/nonexistent-lib"))\n`,
};

/** The response bodies of `times` requests to `name`. */
async function bodies(host: RuntimeHost, script: string, times: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    const { text } = await runScript(host, script);
    out.push(text.slice(text.indexOf('\n\n') + 2).trim());
  }
  return out;
}

let dir: ScriptDir;
const hosts = new Map<string, RuntimeHost>();

async function host(modules: StatePolicy, globals: StatePolicy): Promise<RuntimeHost> {
  const key = `${modules}/${globals}`;
  let started = hosts.get(key);
  if (started === undefined) {
    started = await startRuntime(modules, globals);
    hosts.set(key, started);
  }
  return started;
}

beforeAll(async () => {
  dir = await scriptDir(scripts);
});

afterAll(async () => {
  await Promise.all([...hosts.values()].map((h) => h.close()));
  await dir.remove();
});

describe('python runtime: state.modules', () => {
  it('reset: a helper module is imported fresh each request (its counter prints 1 every time)', async () => {
    expect(await bodies(await host('reset', 'reset'), dir.path('module-counter.py'), 3)).toEqual([
      '1',
      '1',
      '1',
    ]);
  });

  it('keep: a helper module stays imported (its counter grows)', async () => {
    expect(await bodies(await host('keep', 'reset'), dir.path('module-counter.py'), 3)).toEqual([
      '1',
      '2',
      '3',
    ]);
  });

  it('reset: stdlib modules first imported by a request are gone in the next', async () => {
    const script = dir.path('modules-seen.py');
    expect(await bodies(await host('reset', 'reset'), script, 2)).toEqual(['False False', 'False False']);
  });

  it('keep: stdlib modules a request imported are still there in the next', async () => {
    expect(await bodies(await host('keep', 'keep'), dir.path('modules-seen.py'), 2)).toEqual([
      'False False',
      'False True',
    ]);
  });
});

describe('python runtime: state.globals', () => {
  it('reset: script globals start fresh each request', async () => {
    expect(await bodies(await host('reset', 'reset'), dir.path('global-counter.py'), 3)).toEqual([
      '1',
      '1',
      '1',
    ]);
  });

  it('keep: the same globals are reused per script (the counter grows)', async () => {
    expect(await bodies(await host('reset', 'keep'), dir.path('global-counter.py'), 3)).toEqual([
      '1',
      '2',
      '3',
    ]);
  });

  it('keep: an edited script starts with fresh globals', async () => {
    const h = await host('reset', 'keep');
    const script = dir.path('edit-me.py');
    expect(await bodies(h, script, 2)).toEqual(['v1 1', 'v1 2']);
    await dir.write('edit-me.py', scripts['edit-me.py']!.replace('"v1"', '"v2 edited"'));
    expect(await bodies(h, script, 2)).toEqual(['v2 edited 1', 'v2 edited 2']);
  });
});

describe('python runtime: restored in every policy', () => {
  it.each<[StatePolicy, StatePolicy]>([
    ['reset', 'reset'],
    ['keep', 'keep'],
  ])('modules=%s globals=%s: sys.path changes do not pile up', async (modules, globals) => {
    expect(await bodies(await host(modules, globals), dir.path('path-append.py'), 3)).toEqual([
      '1',
      '1',
      '1',
    ]);
  });
});
