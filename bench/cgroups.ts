// This file implements exact CPU totals from the perspective of a bench that must count every
// process a server runs, including the short-lived ones nobody waits for (fcgiwrap ignores
// SIGCHLD, so its scripts never reach its /proc `cutime`): one cgroup v2 per server, created by
// the bench as root, read from `cpu.stat`'s `usage_usec` (present without any controller
// enabled), removed at the end.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where a writable cgroup v2 hierarchy may be mounted: unified, or hybrid (systemd's "unified"). */
const MOUNTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];

/** One cgroup of the bench's. */
export interface Cgroup {
  /** Its directory. */
  readonly path: string;
  /** CPU time used by every process that ever ran in it (`cpu.stat` `usage_usec`), in µs. */
  usageUs(): Promise<number>;
  /** Moves process `pid` (not its existing children) into it. */
  add(pid: number): Promise<void>;
  /**
   * `file args…` rewritten to start inside the cgroup: a shell writes its own PID to
   * `cgroup.procs`, then execs the command (same PID, so stop-by-PID still works).
   */
  wrap(file: string, args: readonly string[]): [string, string[]];
}

/** Reads `usage_usec` from a `cpu.stat` text. @throws Error when the field is missing */
export function parseUsageUs(cpuStat: string): number {
  const match = /^usage_usec (\d+)$/m.exec(cpuStat);
  if (match?.[1] === undefined)
    throw new Error(`cgroup: no usage_usec in cpu.stat: ${JSON.stringify(cpuStat)}`);
  return Number(match[1]);
}

/** The cgroup at `path` (which must exist before its methods are used). */
export function cgroupAt(path: string): Cgroup {
  const procs = join(path, 'cgroup.procs');
  return {
    path,
    usageUs: async () => parseUsageUs(await readFile(join(path, 'cpu.stat'), 'utf8')),
    add: (pid) => writeFile(procs, `${pid}\n`),
    wrap: (file, args) => ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', procs, file, ...args]],
  };
}

/** The bench's own cgroup directory and the per-server groups under it. */
export class Cgroups {
  readonly #root: string;
  readonly #children: string[] = [];

  private constructor(root: string) {
    this.#root = root;
  }

  /**
   * Creates `cgi-fpm-bench-PID` under the first cgroup v2 mount that takes it, checking that a
   * process can be moved in and its CPU read; undefined (with the reason told to `log`) when
   * none can (not root, read-only /sys/fs/cgroup, cgroup v1 only): the bench then falls back
   * to /proc.
   */
  static async create(log: (line: string) => void): Promise<Cgroups | undefined> {
    const reasons: string[] = [];
    for (const mount of MOUNTS) {
      // A cgroup v2 mount has cgroup.controllers (v1 and the hybrid tmpfs do not); the root
      // group may lack cpu.stat, which the new group is checked for below.
      if (!existsSync(join(mount, 'cgroup.controllers'))) continue;
      const root = join(mount, `cgi-fpm-bench-${process.pid}`);
      try {
        await mkdir(root);
        parseUsageUs(await readFile(join(root, 'cpu.stat'), 'utf8'));
        return new Cgroups(root);
      } catch (err) {
        reasons.push(`${root}: ${(err as Error).message}`);
        await rmdir(root).catch(() => undefined);
      }
    }
    log(`bench: no cgroup v2 to create (${reasons.join('; ') || 'none mounted'}): CPU from /proc only`);
    return undefined;
  }

  /** A new empty cgroup named `name` (unique within the run). */
  async group(name: string): Promise<Cgroup> {
    const path = join(this.#root, name.replace(/[^A-Za-z0-9_.-]/g, '_'));
    await mkdir(path);
    this.#children.push(path);
    return cgroupAt(path);
  }

  /**
   * Removes every group, then the root; a group whose last processes are still exiting is
   * retried for up to 5 s. Run after every server stopped.
   */
  async remove(): Promise<void> {
    for (const path of [...this.#children.splice(0).reverse(), this.#root]) {
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(path);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (attempt >= 50)
            throw new Error(`cgroup: cannot remove ${path}: ${(err as Error).message}`, { cause: err });
          await sleep(100);
        }
      }
    }
  }
}
