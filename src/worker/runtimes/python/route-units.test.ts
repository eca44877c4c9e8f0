import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { afterAll, describe, expect, it } from 'vitest';
import { scriptCases } from '../../../cgi/script-cases-peer.ts';
import { scriptGlobs } from '../../../cgi/script-globs.ts';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cgi-fpm-route-units-'));
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

/** Globs users write, and names to try them on (picomatch gives the verdict python must give). */
const GLOBS = ['**', '*.py', 'sub/*.py', '**/*.{py,cgi}', '[a-c]*', '!(*.txt)', '@(a|b).py', '?.py', '.*.py', 'sub/**',
  '*.{py,cgi}', '**/.git/**', 'x/**/y.py', '+(a|b).py', '*(x).py', '[!a]*', '[[:alpha:]]*', 'a{1..3}.py', '\\z.py',
  'a\\d.py', '*.PY', '**/*', 'foo.{py,', '*.p?', 'sub/deep.py', '[]].py', '*', 'a{,3}.py', 'a{2}.py', '*.{py,cgi,}', 'a\\1', '(a)\\1', 'x\\8', 'a\\0b', '\\101.py'];
const INPUTS = ['a.py', 'b.py', 'ab.py', 'x.py', 'd.txt', 'c.cgi', '.hidden.py', 'sub/deep.py', 'sub/.dot.py', '.git/config',
  'x/.git/config', 'x/y.py', 'x/m/n/y.py', 'sub/e.cgi', 'aa.py', 'xx.py', '!a', '\ufffd.py', '\u{1f600}.py', 'a2.py', 'a9.py',
  'z.py', 'A.PY', 'a.py\u2028', 'a\u2028.py', 'a.p\n', 'a.py\n', 'foo.{py,', 'caf\u00e9.py', 'dir/', ']].py', '].py', '[!a]x',
  '*.py', 'sub', 'a.pyx', 'a3.py', 'a{2}.py', 'x.', 'a\x01', 'a1', 'x8', 'aa', 'A.py', 'a\0b'];

describe("the python worker's script router", () => {
  it('answers as resolveScript and ScriptCache, and as picomatch (route_test.py)', { timeout: 120_000 }, () => {
    const lists = [['**'], ...scriptCases.cases.flatMap((c) => (c.rules.match === undefined ? [] : [c.rules.match]))];
    const byMatch = Object.fromEntries(lists.map((match) => [JSON.stringify(match), scriptGlobs(match)]));
    const verdicts = GLOBS.map((glob) => {
      const test = picomatch(glob, { basename: !glob.includes('/') });
      const [source] = scriptGlobs([glob]);
      return { glob, source, inputs: INPUTS.map((input) => [input, test(input)]) };
    });
    const file = join(tmp, 'globs.json');
    writeFileSync(file, JSON.stringify({ byMatch, verdicts }));
    const run = spawnSync('python3', ['-B', '-m', 'unittest', '-v', 'route_test'], {
      cwd: DIR, encoding: 'utf8', env: { ...process.env, CGI_FPM_SCRIPT_GLOBS: file },
    });
    // unittest reports on stderr: every test "ok", and "OK" at the end.
    expect(run.stderr).toMatch(/\nOK\n$/u);
    expect(run.stderr).not.toMatch(/\.\.\. (FAIL|ERROR)/u);
    expect(run.status).toBe(0);
  });
});
