// This file implements Mercurial's hgweb as a python pool under test, from the perspective of
// a user cloning and pushing with a real `hg` through a real nginx: Debian's own hgweb.cgi
// example (`#!/usr/bin/env python3`, only its `config` line edited, as its comment asks) and
// the same script as the issue met it (`#!/usr/bin/python3`), in a pool with the default
// config, while another python3 without Mercurial comes first on the daemon's PATH.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { useStack } from './helpers/use-stack.ts';

const run = promisify(execFile);

/** Debian's example, from the mercurial-common package. */
export const HGWEB_EXAMPLE = '/usr/share/doc/mercurial-common/examples/hgweb.cgi';

/** `hg` as a user runs it: no user config, plain output, a committer name. */
const HG_ENV = { ...process.env, HGRCPATH: '/dev/null', HGPLAIN: '1', HGUSER: 'tester <tester@example.org>' };

async function hg(args: readonly string[], cwd?: string): Promise<string> {
  const { stdout } = await run('hg', [...args], {
    env: HG_ENV,
    ...(cwd === undefined ? {} : { cwd }),
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/**
 * Registers the suite: pool `hg` (root ROOT/hg) has `keys` on top of the default config
 * (`runtime = "python"` and nothing else a user would need to add).
 */
export function hgwebSuite(keys: TomlDocument): void {
  let repo = '';
  let decoy: TempDir | undefined;
  const daemonEnv: Record<string, string> = {};
  // Registered before the stack's own hook, so the daemon starts with this PATH.
  beforeAll(async () => {
    decoy = await createTempDir('cgi-fpm-decoy-');
    // A python3 without Mercurial (no site-packages), first on the daemon's PATH.
    await writeFile(join(decoy.path, 'python3'), '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n', {
      mode: 0o755,
    });
    daemonEnv.PATH = `${decoy.path}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  });
  afterAll(async () => {
    await decoy?.remove();
  });
  const stack = useStack({
    tcp: true,
    daemonEnv,
    pools: async ({ dir, root, fastcgiSocket }) => {
      repo = join(dir, 'repo');
      await hg(['init', repo]);
      await writeFile(join(repo, 'README'), 'served by hgweb under cgi-fpm\n');
      await hg(['commit', '-A', '-m', 'first'], repo);
      await writeFile(join(repo, '.hg', 'hgrc'), '[web]\nallow_push = *\npush_ssl = false\n');
      const poolRoot = join(root, 'hg');
      await mkdir(poolRoot);
      const example = await readFile(HGWEB_EXAMPLE, 'utf8');
      const edited = example.replace(/^config = b".*"$/mu, `config = b"${repo}"`);
      await writeFile(join(poolRoot, 'hgweb.cgi'), edited);
      await writeFile(join(poolRoot, 'hgweb-python3.cgi'), edited.replace(/^#!.*$/mu, '#!/usr/bin/python3'));
      for (const name of ['hgweb.cgi', 'hgweb-python3.cgi']) await chmod(join(poolRoot, name), 0o755);
      return {
        hg: { listen: fastcgiSocket, 'listen.mode': '0666', root: poolRoot, runtime: 'python', ...keys },
      };
    },
  });

  const url = (script: string): string => `http://127.0.0.1:${String(stack().tcpPort)}/hg/${script}`;

  describe('Mercurial hgweb behind nginx, another python3 first on PATH', () => {
    it('the python3 first on the daemon PATH is the decoy, without Mercurial', async () => {
      expect((await readFile(HGWEB_EXAMPLE, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env python3');
      const attempt = run('python3', ['-c', 'import mercurial'], { env: { PATH: daemonEnv.PATH } });
      await expect(attempt).rejects.toThrow("No module named 'mercurial'");
    });

    it.each(['hgweb.cgi', 'hgweb-python3.cgi'])('%s: hg clone gets the repository', async (script) => {
      const clone = join(stack().dir, `clone-${script}`);
      await hg(['clone', url(script), clone]);
      expect(await readFile(join(clone, 'README'), 'utf8')).toBe('served by hgweb under cgi-fpm\n');
      expect(await hg(['id', '-i', '-r', 'tip'], clone)).toBe(await hg(['id', '-i', '-r', 'tip'], repo));
    });

    it('hg push of new files arrives, and a fresh clone has them', async () => {
      const { dir } = stack();
      const work = join(dir, 'work');
      await hg(['clone', url('hgweb.cgi'), work]);
      const data = randomBytes(512 * 1024).toString('base64');
      await writeFile(join(work, 'data.txt'), data);
      await writeFile(join(work, 'notes.txt'), 'pushed through nginx and cgi-fpm\n');
      await hg(['commit', '-A', '-m', 'second'], work);
      await hg(['push', url('hgweb.cgi')], work);
      expect(await hg(['log', '-r', 'tip', '-T', '{desc}'], repo)).toBe('second');
      const fresh = join(dir, 'fresh');
      await hg(['clone', url('hgweb-python3.cgi'), fresh]);
      expect(await readFile(join(fresh, 'data.txt'), 'utf8')).toBe(data);
      expect(await hg(['id', '-i', '-r', 'tip'], fresh)).toBe(await hg(['id', '-i', '-r', 'tip'], work));
    });
  });
}
