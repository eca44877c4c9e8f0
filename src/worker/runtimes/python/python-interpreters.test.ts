import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgiError, ErrorCode } from '../../../errors.ts';
import type { RuntimeHost } from '../types.ts';
import { createPythonRuntime } from './python.ts';
import { runScript, scriptDir, silentLog, type ScriptDir } from './runtime-test-peer.ts';

const HEAD = 'print("Content-Type: text/plain")\nprint()\n';
// Which interpreter runs: a decoy started with -S (no site-packages), the system's, a venv's.
const REPORT = `import os, sys\n${HEAD}print(sys.flags.no_site, sys.prefix)\n`;
// Under `python -u` the line written before os._exit is out; buffered, it is lost.
const UNBUFFERED = `import os\n${HEAD}print("written", flush=True)\nprint("unbuffered only")\nos._exit(0)\n`;

let dir: ScriptDir;
let host: RuntimeHost;
let venv: string;

beforeAll(async () => {
  dir = await scriptDir({
    'system-pid.py': `#!/usr/bin/python3\nimport os\n${HEAD}print(os.getpid())\n`,
    'fallback-pid.py': `import os\n${HEAD}print(os.getpid())\n`,
    'no-shebang.py': REPORT,
    'system.py': `#!/usr/bin/python3\n${REPORT}`,
    'env.py': `#!/usr/bin/env python3\n${REPORT}`,
    'venv.py': `#!VENV/bin/python -u\n${UNBUFFERED}`,
    'venv-report.py': `#!VENV/bin/python\n${REPORT}`,
    'buffered.py': `#!/usr/bin/python3\n${UNBUFFERED}`,
    'perl.py': `#!/usr/bin/perl\n${REPORT}`,
    'missing.py': `#!/opt/no-such-python/bin/python3\n${REPORT}`,
    'env-missing.py': `#!/usr/bin/env python9\n${REPORT}`,
  });
  // Another python3 first on the worker's PATH: the fallback, python.executable = "python3".
  await mkdir(dir.path('decoy'));
  await dir.write('decoy/python3', '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
  await chmod(dir.path('decoy/python3'), 0o755);
  venv = dir.path('venv');
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', venv]);
  for (const name of ['venv.py', 'venv-report.py']) {
    await dir.write(name, (await readFile(dir.path(name), 'utf8')).replace('VENV', venv));
  }
  host = await createPythonRuntime(
    {
      python: { executable: 'python3' },
      state: { modules: 'reset', globals: 'reset' },
      env: {},
      clearEnv: true,
    },
    { log: silentLog, inherited: { PATH: `${dir.path('decoy')}:/usr/bin:/bin` } },
  );
});

afterAll(async () => {
  await host.close();
  await dir.remove();
});

function body(text: string): string {
  return text.slice(text.indexOf('\n\n') + 2).trim();
}

describe('python runtime: the interpreter a script names', () => {
  it('runs a script without a python #! line with python.executable, looked up in the worker PATH', async () => {
    expect(body((await runScript(host, dir.path('no-shebang.py'))).text)).toBe('1 /usr');
    expect(body((await runScript(host, dir.path('perl.py'))).text)).toBe('1 /usr');
  });

  it('runs #!/usr/bin/python3 with /usr/bin/python3, whatever comes first on PATH', async () => {
    expect(body((await runScript(host, dir.path('system.py'))).text)).toBe('0 /usr');
  });

  it("searches #!/usr/bin/env python3 in the script's own PATH (/bin:/usr/bin when it has none)", async () => {
    expect(body((await runScript(host, dir.path('env.py'))).text)).toBe('0 /usr');
    const decoyFirst = await runScript(host, dir.path('env.py'), {
      env: { PATH: `${dir.path('decoy')}:/usr/bin` },
    });
    expect(body(decoyFirst.text)).toBe('1 /usr');
  });

  it("runs #!/opt/venv/bin/python -u in the venv, with the line's -u", async () => {
    expect(body((await runScript(host, dir.path('venv-report.py'))).text)).toBe(`0 ${venv}`);
    expect(body((await runScript(host, dir.path('venv.py'))).text)).toBe('written\nunbuffered only');
    expect(body((await runScript(host, dir.path('buffered.py'))).text)).toBe('written');
  });

  it('keeps one runner per interpreter, each kept across requests; their memory adds up', async () => {
    const pid = async (script: string): Promise<string> =>
      body((await runScript(host, dir.path(script))).text);
    const system = await pid('system-pid.py');
    const fallback = await pid('fallback-pid.py');
    expect(fallback).not.toBe(system);
    expect(await pid('system-pid.py')).toBe(system);
    expect(await pid('fallback-pid.py')).toBe(fallback);
    const rss = (await host.childRssBytes?.()) ?? 0;
    const one = Number((await readFile(`/proc/${system}/statm`, 'utf8')).split(' ')[1]) * 4096;
    expect(rss).toBeGreaterThan(one);
  });

  it('answers a missing interpreter as a failed spawn (ENOENT), naming it', async () => {
    const missing = runScript(host, dir.path('missing.py'));
    await expect(missing).rejects.toBeInstanceOf(CgiError);
    await expect(missing).rejects.toMatchObject({ code: ErrorCode.ERR_CGI_SPAWN, cause: { code: 'ENOENT' } });
    await expect(missing).rejects.toThrow('/opt/no-such-python/bin/python3');
    const envMissing = runScript(host, dir.path('env-missing.py'));
    await expect(envMissing).rejects.toMatchObject({
      code: ErrorCode.ERR_CGI_SPAWN,
      cause: { code: 'ENOENT' },
    });
    await expect(envMissing).rejects.toThrow('#! names "python9", not found in PATH /bin:/usr/bin');
    // The runtime goes on serving.
    expect(body((await runScript(host, dir.path('system.py'))).text)).toBe('0 /usr');
  });
});
