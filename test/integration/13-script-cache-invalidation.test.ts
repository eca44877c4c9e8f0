// This file implements issue 13's script-resolution cache from the perspective of an operator
// who changes a pool's files while nginx keeps sending requests: the supervisor keeps each
// script's resolution, and the very next request after an edit, a `current -> release-N`
// switch, a chmod, a symlink to outside the root or a removal must get what a fresh resolution
// answers (the new output, 403, 404), in an exec and a python pool.
import { chmod, mkdir, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const SCRIPT: Readonly<Record<string, { ext: string; runtime: string; text: (says: string) => string }>> = {
  exec: { ext: 'sh', runtime: 'exec', text: (says) => `#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n${says}\\n"\n` },
  python: { ext: 'py', runtime: 'python', text: (says) => `print("Content-Type: text/plain")\nprint()\nprint("${says}")\n` },
};

const stack = useStack({
  pools: async ({ root, fastcgiSocket }) => {
    const pools: Record<string, TomlDocument> = {};
    for (const [name, script] of Object.entries(SCRIPT)) {
      const poolRoot = join(root, name);
      await mkdir(join(poolRoot, 'release-1'), { recursive: true });
      await mkdir(join(poolRoot, 'release-2'));
      await mkdir(join(root, `${name}-outside`));
      await writeFile(join(root, `${name}-outside`, `app.${script.ext}`), script.text('OUTSIDE'), { mode: 0o755 });
      await writeFile(join(poolRoot, 'release-1', `app.${script.ext}`), script.text('release 1'), { mode: 0o755 });
      await writeFile(join(poolRoot, 'release-2', `app.${script.ext}`), script.text('release 2'), { mode: 0o755 });
      await writeFile(join(poolRoot, `plain.${script.ext}`), script.text('plain 1'), { mode: 0o755 });
      await symlink('release-1', join(poolRoot, 'current'));
      pools[name] = { ...defaultPool(poolRoot, fastcgiSocket), runtime: script.runtime, pm: { max_children: 1 } };
    }
    return pools;
  },
});

/** Status and body of one request through nginx. */
async function get(path: string): Promise<[number, string]> {
  const res = await stack().request(path);
  return [res.status, res.status === 200 ? res.text : ''];
}

describe('the supervisor\'s kept script resolutions never outlive a change', () => {
  it.each(Object.keys(SCRIPT))('%s pool: a `current -> release-N` switch, then the file edited, made not executable, swapped for a symlink to outside, removed', async (pool) => {
    const { ext } = SCRIPT[pool] ?? { ext: '' };
    const text = SCRIPT[pool]?.text ?? ((s: string) => s);
    const poolRoot = join(stack().root, pool);
    const app = `/${pool}/current/app.${ext}`;
    expect(await get(app)).toEqual([200, 'release 1\n']);
    expect(await get(app)).toEqual([200, 'release 1\n']); // kept: answered from the cache
    // The deploy tools' atomic switch: a new symlink renamed over the old one.
    await symlink('release-2', join(poolRoot, 'next'));
    await rename(join(poolRoot, 'next'), join(poolRoot, 'current'));
    expect(await get(app)).toEqual([200, 'release 2\n']);
    expect(await get(app)).toEqual([200, 'release 2\n']);

    const plain = `/${pool}/plain.${ext}`;
    const file = join(poolRoot, `plain.${ext}`);
    expect(await get(plain)).toEqual([200, 'plain 1\n']);
    expect(await get(plain)).toEqual([200, 'plain 1\n']);
    await writeFile(file, text('plain 2, edited'));
    expect(await get(plain)).toEqual([200, 'plain 2, edited\n']);
    await chmod(file, 0o644);
    expect(await get(plain)).toEqual([403, '']);
    await chmod(file, 0o755);
    expect(await get(plain)).toEqual([200, 'plain 2, edited\n']);
    await symlink(join(stack().root, `${pool}-outside`, `app.${ext}`), join(poolRoot, 'swap'));
    await rename(join(poolRoot, 'swap'), file);
    expect(await get(plain)).toEqual([403, '']);
    await unlink(file);
    expect(await get(plain)).toEqual([404, '']);
    await writeFile(file, text('plain 3, back'), { mode: 0o755 });
    expect(await get(plain)).toEqual([200, 'plain 3, back\n']);
  });
});
