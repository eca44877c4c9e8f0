// This file implements issue 3's state policies for `runtime = "node"` from the perspective of
// an HTTP client behind nginx: under `state.modules = "reset"` a helper module is imported
// fresh (its counter prints 1 every time), under "keep" it stays warm (the counter grows); the
// same for counters on globalThis under `state.globals`. One worker per pool, so every request
// of a pool meets the same process.
import { describe, expect, it } from 'vitest';
import { nodeStack } from './3-node-stack.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack(
  nodeStack([
    { name: 'reset' },
    { name: 'keep-modules', keys: { 'state.modules': 'keep' } },
    { name: 'keep-globals', keys: { 'state.globals': 'keep' } },
  ]),
);

async function texts(path: string, times: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await stack().request(path);
    expect(res.status).toBe(200);
    out.push(res.text);
  }
  return out;
}

describe('node runtime state policies behind nginx', () => {
  it('state.modules = reset: a helper module is imported fresh, its counter prints 1 every time', async () => {
    expect(await texts('/reset/counter.js', 3)).toEqual(['count=1\n', 'count=1\n', 'count=1\n']);
  });

  it('state.modules = keep: the helper module stays warm and its counter grows', async () => {
    expect(await texts('/keep-modules/counter.js', 3)).toEqual(['count=1\n', 'count=2\n', 'count=3\n']);
  });

  it('state.globals = reset: a counter on globalThis starts over every request', async () => {
    expect(await texts('/reset/globals.js', 3)).toEqual(['counter=1\n', 'counter=1\n', 'counter=1\n']);
    // Modules kept, globals reset: the global counter still starts over.
    expect(await texts('/keep-modules/globals.js', 2)).toEqual(['counter=1\n', 'counter=1\n']);
  });

  it('state.globals = keep: the counter on globalThis grows', async () => {
    expect(await texts('/keep-globals/globals.js', 3)).toEqual(['counter=1\n', 'counter=2\n', 'counter=3\n']);
    // Globals kept, modules reset: the helper module is still fresh.
    expect(await texts('/keep-globals/counter.js', 2)).toEqual(['count=1\n', 'count=1\n']);
  });

  it('under keep too, the environment is restored: a variable set by one request is gone in the next', async () => {
    for (const pool of ['keep-modules', 'keep-globals']) {
      expect(await texts(`/${pool}/env-leak.js?${pool}`, 2)).toEqual([
        'before=(unset)\n',
        'before=(unset)\n',
      ]);
    }
  });
});
