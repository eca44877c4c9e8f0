// This file implements issue 3's state policies from the perspective of an HTTP client behind
// nginx talking to three python pools of one worker each: `reset`/`reset` (the default: the
// same output as under CGI), `state.modules = "keep"` and `state.globals = "keep"`. The
// environment and cwd are put back after every request whatever the policy, and an edited
// script is used on its next request.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fields, pythonPools } from './3-python-pools.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack({
  pools: pythonPools({
    reset: {},
    modkeep: { 'state.modules': 'keep' },
    globkeep: { 'state.globals': 'keep' },
  }),
});

/** The bodies of `times` sequential requests to `path`. */
async function bodies(path: string, times: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await stack().request(path);
    expect(res.status).toBe(200);
    out.push(res.text.trim());
  }
  return out;
}

describe('python state policies behind nginx', () => {
  it('state.modules = reset: a helper module is imported fresh, its counter prints 1 every time', async () => {
    expect(await bodies('/reset/counter.py', 3)).toEqual(Array(3).fill('module counter=1'));
  });

  it('state.modules = keep: the helper module stays loaded, its counter grows', async () => {
    expect(await bodies('/modkeep/counter.py', 3)).toEqual([
      'module counter=1',
      'module counter=2',
      'module counter=3',
    ]);
  });

  it('state.globals = reset: script globals are fresh each request', async () => {
    expect(await bodies('/reset/globals_counter.py', 3)).toEqual(Array(3).fill('globals counter=1'));
    expect(await bodies('/modkeep/globals_counter.py', 2)).toEqual(Array(2).fill('globals counter=1'));
  });

  it('state.globals = keep: the same script globals are reused, the counter grows', async () => {
    expect(await bodies('/globkeep/globals_counter.py', 3)).toEqual([
      'globals counter=1',
      'globals counter=2',
      'globals counter=3',
    ]);
  });

  it.each(['reset', 'modkeep', 'globkeep'])(
    'pool %s: an environment variable set by one request is gone in the next',
    async (pool) => {
      expect(await bodies(`/${pool}/env_leak.py`, 2)).toEqual(['LEAKED=absent', 'LEAKED=absent']);
    },
  );

  it.each(['reset', 'modkeep', 'globkeep'])('pool %s: a changed cwd is restored', async (pool) => {
    const { root } = stack();
    expect(await bodies(`/${pool}/cwd_change.py`, 2)).toEqual(Array(2).fill(`cwd=${root}/${pool}`));
    // And a script that does not chdir itself starts in its own directory too.
    expect(fields((await stack().request(`/${pool}/hello.py`)).text).cwd).toBe(`${root}/${pool}`);
  });

  it.each(['reset', 'globkeep'])('pool %s: an edited script is used on its next request', async (pool) => {
    const { root } = stack();
    const script = join(root, pool, 'edited.py');
    // Executable, as every script must be (require_executable, the default).
    await writeFile(script, 'print("Content-Type: text/plain")\nprint()\nprint("version one")\n', { mode: 0o755 });
    expect(await bodies(`/${pool}/edited.py`, 1)).toEqual(['version one']);
    await writeFile(script, 'print("Content-Type: text/plain")\nprint()\nprint("version two, edited")\n');
    expect(await bodies(`/${pool}/edited.py`, 1)).toEqual(['version two, edited']);
  });
});
