import { type ScriptRules } from './script.ts';
import { syncScriptFs } from './script-fs.ts';
import { describe, expect, it } from 'vitest';
import { notFound, ok, realFs, refused, resolveScript, root, rules, tmp, type ScriptResolution } from './script-test-peer.ts';

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
