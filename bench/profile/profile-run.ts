// This file implements `npm run bench -- profile [TARGET…]` from the perspective of someone who
// must know where a request's CPU goes before redesigning a hot path: for each cgi-fpm target
// (default: handler and python-persistent), four looks on fresh daemons behind the bench's
// nginx under the bench's wrk load — /proc, node --cpu-prof, strace -c, perf — written as one
// markdown report (stdout and bench/results/profile-<timestamp>.md).
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from '../cleanup.ts';
import { startFront, urlOf } from '../front.ts';
import { findInterpreters } from '../interpreters.ts';
import { TARGETS } from '../targets.ts';
import { ensureTools } from '../tools.ts';
import { createWorkspace } from '../workspace.ts';
import { cpuLook, perfLook, profileLook, straceLook, type PhaseContext } from './profile-phases.ts';
import { formatProfile, type TargetProfile } from './profile-report.ts';

const DEFAULT_TARGETS = ['handler', 'python-persistent'];

/** The bench's wrk load, for 8 s per look. */
const LOAD = { threads: 2, connections: 8, durationS: 8, timeoutS: 10 } as const;

/** bench/results/ in the repository (this runs from dist-bench/bench/profile/). */
const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

async function inPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function attempt<T>(
  what: string,
  say: (line: string) => void,
  look: () => Promise<T>,
): Promise<T | Error> {
  say(`bench profile: ${what}`);
  try {
    return await look();
  } catch (err) {
    say(`bench profile: ${what}: ${(err as Error).message}`);
    return err as Error;
  }
}

/** Runs the looks for every named target; resolves with the exit code. */
export async function runProfile(
  args: readonly string[],
  cleanup: Cleanup,
  say: (line: string) => void,
): Promise<number> {
  const ids = args.length === 0 ? DEFAULT_TARGETS : args;
  const targets = ids.map((id) => TARGETS.find((t) => t.id === id && t.backend === 'cgi-fpm'));
  if (targets.some((t) => t === undefined)) {
    const valid = TARGETS.filter((t) => t.backend === 'cgi-fpm').map((t) => t.id);
    throw new TypeError(
      `bench profile: not a cgi-fpm target in ${ids.join(', ')}; targets: ${valid.join(', ')}`,
    );
  }
  const chosen = targets.filter((t) => t !== undefined);
  const startedAt = new Date();
  const reports: TargetProfile[] = [];
  try {
    const tools = await ensureTools(new Set(), say);
    const interpreters = await findInterpreters();
    const workspace = await createWorkspace(interpreters);
    cleanup.add('scratch directory', () => workspace.dir.remove());
    const front = await startFront(chosen, workspace, undefined);
    cleanup.add('nginx', () => front.nginx.stop());
    const [strace, perf] = [await inPath('strace'), await inPath('perf')];
    for (const target of chosen) {
      const site = front.sites.find((s) => s.target.id === target.id);
      if (site === undefined) continue;
      const dir = workspace.serverDir(`profile-${target.id}`);
      await mkdir(dir, { recursive: true });
      const ctx: PhaseContext = {
        workspace,
        interpreters,
        wrk: tools.wrk,
        url: urlOf(site),
        load: LOAD,
        dir,
        say,
      };
      reports.push({
        id: target.id,
        cpu: await attempt(`${target.id}: /proc`, say, () => cpuLook(ctx, target)),
        profile: await attempt(`${target.id}: node --cpu-prof`, say, () => profileLook(ctx, target)),
        strace:
          strace === undefined
            ? undefined
            : await attempt(`${target.id}: strace`, say, () => straceLook(ctx, target, strace)),
        perf:
          perf === undefined
            ? undefined
            : await attempt(`${target.id}: perf`, say, () => perfLook(ctx, target, perf)),
      });
    }
  } finally {
    await cleanup.run(say);
  }
  const text = reports.map(formatProfile).join('\n\n');
  process.stdout.write(`${text}\n`);
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `profile-${startedAt.toISOString().replace(/[:.]/g, '-')}.md`);
  await writeFile(file, `${text}\n`);
  say(`bench profile: written to ${file}`);
  return reports.every((r) => !(r.cpu instanceof Error) && !(r.profile instanceof Error)) ? 0 : 1;
}
