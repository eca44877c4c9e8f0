import { describe, expect, it } from 'vitest';
import { closeInheritedFds, type FdTable } from './inherited-fds.ts';

const CLOEXEC = 0o2000000;

/** A descriptor table: fd → flags (`undefined`: listed but gone, like the listing's own). */
function table(fds: Record<number, number | undefined>): FdTable & { closed: number[] } {
  const closed: number[] = [];
  return {
    closed,
    list: () => Object.keys(fds),
    flags: (fd) => fds[fd],
    close: (fd) => { closed.push(fd); },
  };
}

describe('closeInheritedFds', () => {
  it('closes what lacks close-on-exec past the own descriptors, and nothing else', () => {
    const fds = table({
      0: 0o2, 1: 0o1, 2: 0o1, // stdio: kept whatever its flags
      3: 0o2, 4: 0o2, // the worker's channel and control channel (lastOwnFd = 4): kept
      5: CLOEXEC | 0o2, 12: CLOEXEC, // Node's own: close-on-exec
      40: 0o0, 251: 0o1, // leaked by the launcher
      21: undefined, // the listing's own descriptor, gone by now
    });
    expect(closeInheritedFds(4, fds)).toEqual([40, 251]);
    expect(fds.closed).toEqual([40, 251]);
  });

  it('closes nothing when /proc cannot be listed', () => {
    const fds: FdTable = { list: () => { throw new Error('ENOENT'); }, flags: () => 0, close: () => undefined };
    expect(closeInheritedFds(3, fds)).toEqual([]);
  });

  it('reads the real table: this process keeps its own descriptors', () => {
    // The test runner's descriptors are close-on-exec or at most stdio: none is closed here
    // unless a launcher leaked one (then it is closed, which is what the worker wants too).
    expect(() => closeInheritedFds(Number.MAX_SAFE_INTEGER)).not.toThrow();
  });
});
