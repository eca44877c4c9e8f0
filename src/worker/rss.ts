// This file implements reading another process's resident memory from the perspective of a
// parent that watches its children (a worker its python runner, the supervisor its workers):
// /proc/PID/statm, read asynchronously, a process that is gone reading 0.
import { readFile } from 'node:fs/promises';

/** Size of a memory page on Linux x86-64 and arm64 (statm counts pages). */
const PAGE_BYTES = 4096;

/**
 * Resident set size of process `pid`, in bytes; 0 when it cannot be read (gone, not Linux).
 * @see proc(5) `/proc/pid/statm`, field `resident`
 */
export async function readRssBytes(pid: number): Promise<number> {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
    const pages = Number(statm.split(' ')[1] ?? 0);
    return Number.isFinite(pages) ? pages * PAGE_BYTES : 0;
  } catch {
    return 0;
  }
}
