// This file implements issue 11's item 4 from the perspective of an operator whose pool root
// holds a file that was never meant to run (an uploaded `.py`, a `.js` left at mode 0644):
// behind a real nginx, every runtime refuses it with 403 and `script refused` (`not executable`),
// as CGI does; a pool that says `require_executable = false` runs it in the python and node
// runtimes (which read the file instead of exec'ing it); `cgi-fpm check` shows the key.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { runCli } from './helpers/cli.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const SCRIPTS: Readonly<Record<string, { file: string; text: string; runtime: string }>> = {
  exec: { file: 'plain.sh', runtime: 'exec', text: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nran\\n"\n' },
  python: { file: 'plain.py', runtime: 'python', text: 'print("Content-Type: text/plain")\nprint()\nprint("ran")\n' },
  node: { file: 'plain.js', runtime: 'node', text: "console.log('Content-Type: text/plain\\n');\nconsole.log('ran');\n" },
};

/** Pools `exec`, `python`, `node` (the default) and `pythonopt`, `nodeopt` (opted out), each with one 0644 script. */
const stack = useStack({
  pools: async ({ root, fastcgiSocket }) => {
    const pools: Record<string, TomlDocument> = {};
    const add = async (name: string, kind: string, keys: TomlDocument = {}): Promise<void> => {
      const script = SCRIPTS[kind];
      if (script === undefined) throw new Error(`no script ${kind}`);
      const poolRoot = join(root, name);
      await mkdir(poolRoot);
      await writeFile(join(poolRoot, script.file), script.text, { mode: 0o644 });
      await writeFile(join(poolRoot, `x-${script.file}`), script.text, { mode: 0o755 });
      pools[name] = { ...defaultPool(poolRoot, fastcgiSocket), runtime: script.runtime, pm: { max_children: 1 }, ...keys };
    };
    await add('exec', 'exec');
    await add('python', 'python');
    await add('node', 'node');
    await add('pythonopt', 'python', { require_executable: false });
    await add('nodeopt', 'node', { require_executable: false });
    return pools;
  },
});

describe('a script without the executable bit', () => {
  it.each(['exec', 'python', 'node'])('%s pool: 403, "script refused" (not executable), nothing ran', async (pool) => {
    const { daemon } = stack();
    const script = SCRIPTS[pool]?.file ?? '';
    const since = daemon.logs.length;
    const res = await stack().request(`/${pool}/${script}`);
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('ran');
    const event = await daemon.waitForLog((e) => e.msg === 'script refused', 5000, since);
    expect(String(event.reason)).toBe(`not executable: ${join(stack().root, pool, script)}`);
    // The executable one beside it runs: the refusal is about the bit, not the runtime.
    const control = await stack().request(`/${pool}/x-${script}`);
    expect([control.status, control.text]).toEqual([200, 'ran\n']);
  });

  it.each(['pythonopt', 'nodeopt'])('%s pool (require_executable = false): runs it', async (pool) => {
    const script = pool === 'pythonopt' ? 'plain.py' : 'plain.js';
    const res = await stack().request(`/${pool}/${script}`);
    expect([res.status, res.text]).toEqual([200, 'ran\n']);
  });

  it('cgi-fpm check shows require_executable for every pool', async () => {
    const { daemon, dir } = stack();
    const result = await runCli(['check', '-c', daemon.configFile], dir);
    expect(result.code).toBe(0);
    const flags = [...result.stdout.matchAll(/^\[pools\.(\w+)\]$|^require_executable = (\w+)$/gm)]
      .map((m) => m[1] ?? m[2]);
    expect(flags).toEqual(['exec', 'true', 'python', 'true', 'node', 'true', 'pythonopt', 'false', 'nodeopt', 'false']);
  });
});
