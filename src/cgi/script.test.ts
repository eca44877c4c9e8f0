import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  resolveVirtualScript as resolveVirtualBytes,
  resolveScript as resolveScriptBytes,
  stripProxyPrefix,
  type ScriptFs,
  type ScriptResolution as BytesResolution,
  type ScriptRules,
} from './script.ts';
import { syncScriptFs } from './script-fs.ts';

/** A resolution with its paths as text: the tables below are written with text paths. */
type ScriptResolution =
  | { ok: true; scriptFilename: string; pathInfo: string }
  | Extract<BytesResolution, { ok: false }>;
const asText = (result: BytesResolution): ScriptResolution =>
  result.ok ? { ok: true, scriptFilename: result.scriptFilename.toString(), pathInfo: result.pathInfo.toString() } : result;
/** resolveScript on the UTF-8 bytes of text paths, its paths given back as text. */
const resolveScript = async (path: string, pathInfo: string, r: ScriptRules, fs: ScriptFs): Promise<ScriptResolution> =>
  asText(await resolveScriptBytes(Buffer.from(path), Buffer.from(pathInfo), r, fs));
const resolveVirtualScript = (path: string, pathInfo: string, r: ScriptRules): ScriptResolution =>
  asText(resolveVirtualBytes(Buffer.from(path), Buffer.from(pathInfo), r));

// `node:fs/promises` must fit the injected interface as is.
const realFs: ScriptFs = fsp;

let tmp = '';
let root = '';
const rules = (over: Partial<ScriptRules> = {}): ScriptRules => ({
  root,
  match: ['**'],
  requireExecutable: true,
  ...over,
});

beforeAll(async () => {
  tmp = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'cgi-fpm-script-')));
  root = join(tmp, 'cgi');
  await fsp.mkdir(join(root, 'sub'), { recursive: true });
  await fsp.mkdir(join(root, 'dir'));
  await fsp.mkdir(join(tmp, 'cgi2'));
  const files: [string, number][] = [
    ['cgi/hello.py', 0o755],
    ['cgi/readme.txt', 0o644],
    ['cgi/noexec.py', 0o644],
    ['cgi/sub/deep.py', 0o755],
    ['cgi/.hidden.py', 0o755],
    ['outside.py', 0o755],
    ['cgi2/evil.py', 0o755],
  ];
  for (const [name, mode] of files) await fsp.writeFile(join(tmp, name), '#!/bin/sh\n', { mode });
  await fsp.symlink('../outside.py', join(root, 'link-out'));
  await fsp.symlink('hello.py', join(root, 'link-in'));
  await fsp.symlink('loop', join(root, 'loop'));
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

const ok = (file: string, pathInfo = ''): ScriptResolution => ({
  ok: true,
  scriptFilename: join(root, file),
  pathInfo,
});
const refused = (reason: string): ScriptResolution => ({
  ok: false,
  status: 403,
  event: 'script refused',
  reason,
});
const notFound = (reason: string): ScriptResolution => ({
  ok: false,
  status: 404,
  event: 'script not found',
  reason,
});

describe('resolveScript on a real directory', () => {
  const cases: {
    name: string;
    path: () => string;
    pathInfo?: string;
    rules?: Partial<ScriptRules>;
    expected: () => ScriptResolution;
  }[] = [
    { name: 'an executable script', path: () => `${root}/hello.py`, expected: () => ok('hello.py') },
    {
      name: 'an Apache proxy prefix',
      path: () => `proxy:fcgi://localhost:9000${root}/hello.py`,
      expected: () => ok('hello.py'),
    },
    {
      name: 'the path-info sent',
      path: () => `${root}/hello.py`,
      pathInfo: '/a/b',
      expected: () => ok('hello.py', '/a/b'),
    },
    {
      name: 'path-info split off',
      path: () => `${root}/hello.py/extra/path`,
      expected: () => ok('hello.py', '/extra/path'),
    },
    {
      name: 'a trailing slash as path-info',
      path: () => `${root}/hello.py/`,
      expected: () => ok('hello.py', '/'),
    },
    {
      name: '`..` left in the path-info',
      path: () => `${root}/hello.py/../x`,
      expected: () => ok('hello.py', '/../x'),
    },
    {
      name: 'no split when path-info was sent',
      path: () => `${root}/hello.py/extra`,
      pathInfo: '/given',
      expected: () => notFound(`no such file: ${root}/hello.py/extra`),
    },
    {
      name: 'the path-info sent twice (Apache proxy-fcgi-pathinfo=first-dot)',
      path: () => `proxy:fcgi://localhost${root}/hello.py/extra/path`,
      pathInfo: '/extra/path',
      expected: () => ok('hello.py', '/extra/path'),
    },
    {
      name: 'only the path-info sent is cut',
      path: () => `${root}/hello.py/more/extra`,
      pathInfo: '/extra',
      expected: () => notFound(`no such file: ${root}/hello.py/more/extra`),
    },
    {
      name: 'the path-info sent twice, cut to a directory',
      path: () => `${root}/dir/x`,
      pathInfo: '/x',
      expected: () => notFound(`no such file: ${root}/dir/x`),
    },
    {
      name: 'a missing file',
      path: () => `${root}/nope.py`,
      expected: () => notFound(`no such file: ${root}/nope.py`),
    },
    {
      name: 'a missing directory',
      path: () => `${root}/no/such/x.py`,
      expected: () => notFound(`no such file: ${root}/no/such/x.py`),
    },
    {
      name: 'a directory prefix',
      path: () => `${root}/dir/more`,
      expected: () => notFound(`no such file: ${root}/dir/more`),
    },
    { name: 'no SCRIPT_FILENAME', path: () => '', expected: () => notFound('no SCRIPT_FILENAME') },
    {
      name: 'a relative path',
      path: () => 'cgi/hello.py',
      expected: () => refused('path not absolute: cgi/hello.py'),
    },
    {
      name: 'NUL in SCRIPT_FILENAME',
      path: () => `${root}/hello.py\0.txt`,
      expected: () =>
        refused(`bad bytes in path: SCRIPT_FILENAME ${JSON.stringify(`${root}/hello.py\0.txt`)}`),
    },
    {
      name: 'CR LF in PATH_INFO',
      path: () => `${root}/hello.py`,
      pathInfo: '/a\r\nSet-Cookie: x',
      expected: () => refused('bad bytes in path: PATH_INFO "/a\\r\\nSet-Cookie: x"'),
    },
    {
      name: '`..` out of root',
      path: () => `${root}/../outside.py`,
      expected: () => refused(`outside root ${root}: ${tmp}/outside.py`),
    },
    {
      name: 'a symlink out of root',
      path: () => `${root}/link-out`,
      expected: () => refused(`outside root ${root}: ${tmp}/outside.py`),
    },
    {
      name: 'a sibling with the root as prefix',
      path: () => `${tmp}/cgi2/evil.py`,
      expected: () => refused(`outside root ${root}: ${tmp}/cgi2/evil.py`),
    },
    { name: 'a symlink inside root', path: () => `${root}/link-in`, expected: () => ok('hello.py') },
    {
      name: 'a symlink loop',
      path: () => `${root}/loop`,
      expected: () => refused(`symlink loop: ${root}/loop`),
    },
    { name: 'the root itself', path: () => root, expected: () => refused(`not a regular file: ${root}`) },
    {
      name: 'a directory',
      path: () => `${root}/dir`,
      expected: () => refused(`not a regular file: ${root}/dir`),
    },
    {
      name: 'a file the globs do not match',
      path: () => `${root}/readme.txt`,
      rules: { match: ['*.py', '*.cgi'] },
      expected: () => refused(`not matched: ${root}/readme.txt (match *.py, *.cgi)`),
    },
    {
      name: 'a basename glob in a subdirectory',
      path: () => `${root}/sub/deep.py`,
      rules: { match: ['*.py'] },
      expected: () => ok('sub/deep.py'),
    },
    {
      name: 'a glob with a slash',
      path: () => `${root}/sub/deep.py`,
      rules: { match: ['*.cgi', 'sub/*.py'] },
      expected: () => ok('sub/deep.py'),
    },
    {
      name: 'a glob with a slash, other directory',
      path: () => `${root}/hello.py`,
      rules: { match: ['sub/**'] },
      expected: () => refused(`not matched: ${root}/hello.py (match sub/**)`),
    },
    {
      name: 'a dot file under **',
      path: () => `${root}/.hidden.py`,
      expected: () => refused(`not matched: ${root}/.hidden.py (match **)`),
    },
    {
      name: 'a dot file named by a glob',
      path: () => `${root}/.hidden.py`,
      rules: { match: ['.*.py'] },
      expected: () => ok('.hidden.py'),
    },
    {
      name: 'an empty match list',
      path: () => `${root}/hello.py`,
      rules: { match: [] },
      expected: () => refused(`not matched: ${root}/hello.py (match )`),
    },
    {
      name: 'a file without x bit',
      path: () => `${root}/noexec.py`,
      expected: () => refused(`not executable: ${root}/noexec.py`),
    },
    {
      name: 'no x bit when not required',
      path: () => `${root}/noexec.py`,
      rules: { requireExecutable: false },
      expected: () => ok('noexec.py'),
    },
  ];

  it.each(cases)('$name', async ({ path, pathInfo, rules: over, expected }) => {
    await expect(resolveScript(path(), pathInfo ?? '', rules(over), realFs)).resolves.toStrictEqual(
      expected(),
    );
  });

  // The supervisor's blocking calls must answer exactly as the promise API does.
  it.each(cases)('$name (syncScriptFs)', async ({ path, pathInfo, rules: over, expected }) => {
    await expect(resolveScript(path(), pathInfo ?? '', rules(over), syncScriptFs)).resolves.toStrictEqual(
      expected(),
    );
  });

  it('reuses the compiled globs of a match list', async () => {
    const same = rules({ match: ['*.py'] });
    await expect(resolveScript(`${root}/hello.py`, '', same, realFs)).resolves.toStrictEqual(ok('hello.py'));
    await expect(resolveScript(`${root}/readme.txt`, '', same, realFs)).resolves.toMatchObject({
      status: 403,
    });
    await expect(resolveScript(`${root}/sub/deep.py`, '', same, realFs)).resolves.toStrictEqual(
      ok('sub/deep.py'),
    );
  });

  it('treats a root of / as containing everything', async () => {
    await expect(resolveScript(`${tmp}/outside.py`, '', rules({ root: '/' }), realFs)).resolves.toStrictEqual(
      {
        ok: true,
        scriptFilename: `${tmp}/outside.py`,
        pathInfo: '',
      },
    );
  });
});

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

describe('stripProxyPrefix', () => {
  it.each([
    ['proxy:fcgi://localhost/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['proxy:fcgi://127.0.0.1:9000/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['PROXY:FCGI://localhost/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['proxy:balancer://cgi-pool/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['proxy:fcgi://localhost/srv/cgi/a.py?x=1', '/srv/cgi/a.py'],
    ['proxy:fcgi://localhost', ''],
    ['/srv/cgi/a.py', '/srv/cgi/a.py'],
    ['/srv/cgi/a.py?x=1', '/srv/cgi/a.py?x=1'],
    ['proxy:http://localhost/srv/cgi/a.py', 'proxy:http://localhost/srv/cgi/a.py'],
  ])('%s -> %s', (input, expected) => {
    expect(stripProxyPrefix(input)).toBe(expected);
  });
});

describe('resolveVirtualScript (handler pools: paths, not files)', () => {
  const rules = { root: '/srv/app', match: ['**'], requireExecutable: false };
  it.each([
    ['/srv/app/users/42', '/srv/app/users/42'],
    ['/srv/app', '/srv/app'],
    ['/srv/app/a/../b', '/srv/app/b'],
    ['proxy:fcgi://localhost/srv/app/x', '/srv/app/x'],
  ])('accepts %s as %s', (input, expected) => {
    expect(resolveVirtualScript(input, '', rules)).toEqual({ ok: true, scriptFilename: expected, pathInfo: '' });
  });
  it.each([
    ['/srv/app/../etc/passwd', /outside root \/srv\/app: \/srv\/etc\/passwd/],
    ['/srv/application/x', /outside root/],
    ['relative/x', /path not absolute/],
    ['/srv/app/a\0b', /bad bytes in path/],
  ])('refuses %s', (input, reason) => {
    const result = resolveVirtualScript(input, '', rules);
    expect(result).toMatchObject({ ok: false, status: 403, event: 'script refused' });
    expect(!result.ok && result.reason).toMatch(reason);
  });
  it('refuses CR/LF in PATH_INFO, a path outside match, and an empty SCRIPT_FILENAME', () => {
    expect(resolveVirtualScript('/srv/app/x', '/a\nb', rules)).toMatchObject({ ok: false, status: 403 });
    expect(resolveVirtualScript('/srv/app/x.txt', '', { ...rules, match: ['api/**'] })).toMatchObject({
      ok: false, reason: expect.stringMatching(/not matched/) as unknown,
    });
    expect(resolveVirtualScript('', '', rules)).toMatchObject({ ok: false, status: 404 });
  });
});
