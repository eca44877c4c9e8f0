// This file implements the tests of the bench's cgroup use from the perspective of a server
// that must start inside its group: the command rewritten through a shell that joins the group
// and execs (keeping the PID), and cpu.stat's total read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupAt, parseUsageUs } from './cgroups.ts';

describe('bench cgroups', () => {
  it('reads usage_usec from cpu.stat', () => {
    const text = 'usage_usec 138466\nuser_usec 134509\nsystem_usec 3956\nnice_usec 0\n';
    expect(parseUsageUs(text)).toBe(138466);
    expect(() => parseUsageUs('user_usec 1\n')).toThrow(/no usage_usec/);
  });

  it('starts a command inside the group by a shell that writes its PID, then execs the command', () => {
    const [file, args] = cgroupAt('/sys/fs/cgroup/b/nginx').wrap('/usr/sbin/php-fpm8.2', ['-F', '-y', 'a b.conf']);
    expect(file).toBe('/bin/sh');
    expect(args).toEqual([
      '-c',
      'echo $$ > "$0" && exec "$@"',
      '/sys/fs/cgroup/b/nginx/cgroup.procs',
      '/usr/sbin/php-fpm8.2',
      '-F',
      '-y',
      'a b.conf',
    ]);
  });

  it('writes the PID the command then runs as (stop by PID still reaches it)', () => {
    // A plain directory stands in for the cgroup: the shell only writes cgroup.procs.
    const dir = mkdtempSync(join(tmpdir(), 'cgi-fpm-cgroup-'));
    try {
      const [file, args] = cgroupAt(dir).wrap('/bin/sh', ['-c', 'echo $$']);
      const run = spawnSync(file, args, { encoding: 'utf8' });
      expect(run.status).toBe(0);
      expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim()).toBe(run.stdout.trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
