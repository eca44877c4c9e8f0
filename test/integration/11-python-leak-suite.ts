// This file implements the state-leak suite from the perspective of an HTTP client behind a
// real nginx: python pools of one worker each (so one request's runner serves the next) whose
// roots hold the probes of 11-python-leak-probes.ts as CGI scripts. Requested with `?attack`
// a probe changes its kind of interpreter state (with a secret where there is one); otherwise
// it prints one line describing that state. Per pool and probe: check → attack → check, and
// the second check prints what the state table promises for the pool's isolation and policy.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBES, type LeakProbe } from './11-python-leak-probes.ts';
import type { TomlDocument } from './helpers/config-file.ts';
import { isForScript } from './helpers/logs.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

/** Modules every probe script imports first. */
const IMPORTS = 'import builtins, gc, os, signal, sys, time';

/** The CGI script of `probe`. */
export function probeScript(probe: LeakProbe): string {
  const indent = (code: string): string =>
    code
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
  return [
    IMPORTS,
    'print("Content-Type: text/plain")',
    'print()',
    'if os.environ.get("QUERY_STRING") == "attack":',
    '    print("attacked")',
    indent(probe.attack),
    'else:',
    indent(probe.check),
    '',
  ].join('\n');
}

/**
 * The file name of `probe`'s script: prefixed, so that no probe shadows a module its checks
 * or the stdlib import (the script's directory is first on sys.path).
 */
export function probeFile(probe: LeakProbe): string {
  return `probe_${probe.id}.py`;
}

/** Writes every probe's script into `dir` (mode 0755). */
export async function writeProbes(dir: string): Promise<void> {
  for (const probe of PROBES) {
    await writeFile(join(dir, probeFile(probe)), probeScript(probe), { mode: 0o755 });
  }
}

/** How a pool under test keeps state: the table's columns. */
export type Column = 'reset' | 'keep' | 'fork';

/** A pool of the suite: its column and its keys over a one-worker python pool. */
export interface LeakPool {
  readonly column: Column;
  readonly keys: TomlDocument;
}

/** What the second check must print for `probe` in `column`, given the first. */
function expectedAfter(probe: LeakProbe, column: Column, before: string): string {
  const expected = column === 'keep' ? probe.keep : column === 'reset' ? probe.reset : undefined;
  return expected === undefined || expected === 'same' ? before : expected.printed;
}

/** Whether the persistent runner recycles itself after `probe`'s attack in `column`. */
function recycles(probe: LeakProbe, column: Column): boolean {
  return (
    column !== 'fork' && (probe.recycles === 'always' || (probe.recycles === 'reset' && column === 'reset'))
  );
}

/**
 * Registers the suite: a stack with one pool per entry of `pools` (named by the key), and one
 * test per pool and probe.
 */
export function leakSuite(pools: Readonly<Record<string, LeakPool>>): void {
  const stack = useStack({
    pools: async ({ root, fastcgiSocket }) => {
      const config: Record<string, TomlDocument> = {};
      for (const [name, pool] of Object.entries(pools)) {
        const poolRoot = join(root, name);
        await mkdir(poolRoot, { recursive: true });
        await writeProbes(poolRoot);
        config[name] = {
          ...defaultPool(poolRoot, fastcgiSocket),
          runtime: 'python',
          pm: { max_children: 1 },
          ...pool.keys,
        };
      }
      return config;
    },
  });

  /** The one line a probe's check prints (the status must be 200). */
  async function check(pool: string, probe: LeakProbe): Promise<string> {
    const res = await stack().request(`/${pool}/${probeFile(probe)}`);
    expect(res.status, res.text).toBe(200);
    return res.text.trim();
  }

  describe.each(Object.entries(pools))('pool %s', (name, pool) => {
    const cases = (needsRoot: boolean) =>
      PROBES.filter((probe) => (probe.needsRoot === true) === needsRoot).map(
        (probe) => [probe.row, probe.id, probe] as const,
      );
    const run = async (probe: LeakProbe): Promise<void> => {
      const { daemon } = stack();
      const before = await check(name, probe);
      const since = daemon.logs.length;
      const attack = await stack().request(`/${name}/${probeFile(probe)}?attack`);
      expect(attack.status, attack.text).toBe(200);
      if (probe.attackEnds !== undefined)
        expect(attack.text.endsWith(probe.attackEnds), attack.text).toBe(true);
      const after = await check(name, probe);
      expect(after).toBe(expectedAfter(probe, pool.column, before));
      if (!before.includes('LEAK')) expect(after).not.toContain('LEAK');
      const recycled = daemon.logs
        .slice(since)
        .filter((e) => e.msg === 'python runner recycled' && isForScript(e, probeFile(probe)));
      if (recycles(probe, pool.column)) {
        expect(recycled.length, JSON.stringify(daemon.logs.slice(since))).toBe(1);
        expect(typeof recycled[0]?.reason).toBe('string');
      } else {
        expect(recycled).toEqual([]);
      }
    };
    it.each(cases(false))('%s (%s)', async (_row, _id, probe) => {
      await run(probe);
    });
    it.runIf(process.getuid?.() === 0).each(cases(true))('%s (%s)', async (_row, _id, probe) => {
      await run(probe);
    });
  });
}
