// This file implements the tests of script.ts from the perspective of a file system that fails:
// errno values from realpath, stat and access mapped to 403/404, files vanishing during the walk,
// and failures that are not about the path rethrown.
import { type ScriptFs } from './script.ts';
import { describe, expect, it } from 'vitest';
import { notFound, refused, resolveScript, type ScriptResolution } from './script-test-peer.ts';

describe('resolveScript fs failures (fake fs)', () => {
  const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
  const file = { isFile: () => true, mode: 0o100755 };
  const fake = (over: Partial<ScriptFs>): ScriptFs => ({
    realpath: (p) => Promise.resolve(p),
    stat: () => Promise.resolve(file),
    access: () => Promise.resolve(),
    ...over,
  });
  const run = (fs: ScriptFs, path = '/srv/cgi/a.py'): Promise<ScriptResolution> =>
    resolveScript(path, '', { root: '/srv/cgi', match: ['**'], requireExecutable: true }, fs);

  it('maps EACCES and EPERM from realpath to 403 permission denied', async () => {
    for (const code of ['EACCES', 'EPERM']) {
      await expect(run(fake({ realpath: () => Promise.reject(errno(code)) }))).resolves.toStrictEqual(
        refused('permission denied: /srv/cgi/a.py'),
      );
    }
  });

  it('maps ENAMETOOLONG to 404', async () => {
    await expect(run(fake({ realpath: () => Promise.reject(errno('ENAMETOOLONG')) }))).resolves.toStrictEqual(
      notFound('no such file: /srv/cgi/a.py'),
    );
  });

  it('maps a file vanishing between realpath and stat to 404', async () => {
    await expect(run(fake({ stat: () => Promise.reject(errno('ENOENT')) }))).resolves.toStrictEqual(
      notFound('no such file: /srv/cgi/a.py'),
    );
  });

  it('maps a vanishing prefix file during the path-info walk to 404', async () => {
    const fs = fake({
      realpath: (p) => (p.toString() === '/srv/cgi/a.py' ? Promise.resolve(p) : Promise.reject(errno('ENOTDIR'))),
      stat: () => Promise.reject(errno('ENOENT')),
    });
    await expect(run(fs, '/srv/cgi/a.py/x')).resolves.toStrictEqual(
      notFound('no such file: /srv/cgi/a.py/x'),
    );
  });

  it('stops the walk at the file-system root', async () => {
    const fs = fake({ realpath: () => Promise.reject(errno('ENOENT')) });
    await expect(run(fs, '/a/b')).resolves.toStrictEqual(notFound('no such file: /a/b'));
  });

  it('maps access() failures: EPERM -> not executable, ENOENT -> 404', async () => {
    await expect(run(fake({ access: () => Promise.reject(errno('EPERM')) }))).resolves.toStrictEqual(
      refused('not executable: /srv/cgi/a.py'),
    );
    await expect(run(fake({ access: () => Promise.reject(errno('ENOENT')) }))).resolves.toStrictEqual(
      notFound('no such file: /srv/cgi/a.py'),
    );
  });

  it('rethrows failures that are not about the path', async () => {
    const eio = errno('EIO');
    await expect(run(fake({ realpath: () => Promise.reject(eio) }))).rejects.toBe(eio);
    await expect(run(fake({ stat: () => Promise.reject(eio) }))).rejects.toBe(eio);
    await expect(run(fake({ access: () => Promise.reject(eio) }))).rejects.toBe(eio);
    await expect(run(fake({ realpath: () => Promise.reject(new Error('no code')) }))).rejects.toThrow(
      'no code',
    );
    const odd: unknown = { code: 42 };
    await expect(run(fake({ realpath: () => Promise.reject(odd as Error) }))).rejects.toBe(odd);
  });
});
