import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonError, ErrorCode } from '../../../errors.ts';
import type { RuntimeHost } from '../types.ts';
import { createPythonRuntime } from './python.ts';
import {
  Sink,
  capturingLog,
  isAlive,
  runScript,
  scriptDir,
  silentLog,
  startRuntime,
  type ScriptDir,
} from './runtime-test-peer.ts';

const HEAD = 'print("Content-Type: text/plain")\nprint()\n';

const scripts: Record<string, string> = {
  'hello.py': `import os\n${HEAD}print("hello", os.getpid())\n`,
  '_exit.py': `import os, sys\n${HEAD}print("flushed", flush=True)\nprint("lost")\nos._exit(7)\n`,
  'segfault.py': `import ctypes\n${HEAD}ctypes.string_at(0)\n`,
  'forever.py': `import sys, time\n${HEAD}print("started", flush=True)\nwhile True:\n    time.sleep(1)\n`,
  'ignore-body.py': `${HEAD}print("ignored the body")\n`,
  'echo-body.py': `import sys\n${HEAD}print(repr(sys.stdin.read()))\n`,
  'alarm.py': `import signal, sys\n${HEAD}signal.signal(signal.SIGALRM, lambda *_: sys.exit(9))\nsignal.alarm(1)\nprint("alarm set")\n`,
  'raw-alarm.py': `import signal\n${HEAD}signal.alarm(1)\nprint("default SIGALRM would kill the process")\n`,
  'umask.py': `import os\n${HEAD}print(oct(os.umask(0o077)))\n`,
  'slow.py': `import time\ntime.sleep(0.6)\n${HEAD}print("slow done")\n`,
  'late-child.py': [
    'import subprocess',
    'subprocess.Popen(["sh", "-c", "sleep 0.2; echo late line from a child >&2"])',
    HEAD,
    'print("child started")',
    '',
  ].join('\n'),
  'late-thread.py': [
    'import sys, threading, time',
    'out = sys.stdout',
    'def later():',
    '    time.sleep(0.2)',
    '    try:',
    '        out.write("LEAK from an old request\\n"); out.flush()',
    '    except ValueError as err:',
    '        sys.__stderr__.write("late write refused: %s\\n" % err)',
    'threading.Thread(target=later, daemon=True).start()',
    HEAD,
    'print("thread started")',
    '',
  ].join('\n'),
};

let dir: ScriptDir;
let host: RuntimeHost;

beforeAll(async () => {
  dir = await scriptDir(scripts);
  host = await startRuntime();
});

afterAll(async () => {
  await host.close();
  await dir.remove();
});

/** The pid the hello script reports (the runner serving it). */
async function helloPid(): Promise<number> {
  const { text, result } = await runScript(host, dir.path('hello.py'));
  expect(result).toEqual({ exitCode: 0, signal: null });
  return Number(/hello (\d+)/.exec(text)?.[1]);
}

describe('python runtime: failures stay local', () => {
  it('os._exit(7) ends the request with code 7, keeps flushed output, and the next request runs', async () => {
    const before = await helloPid();
    const { result, text } = await runScript(host, dir.path('_exit.py'));
    expect(result).toEqual({ exitCode: 7, signal: null });
    expect(text).toBe('Content-Type: text/plain\n\nflushed\n');
    const after = await helloPid();
    expect(after).not.toBe(before);
  });

  it('a segfault ends the request by SIGSEGV with the python traceback in the log', async () => {
    const { result, lines } = await runScript(host, dir.path('segfault.py'));
    expect(result).toEqual({ exitCode: null, signal: 'SIGSEGV' });
    expect(lines.join('\n')).toContain('Fatal Python error: Segmentation fault');
    await helloPid();
  });

  it('an abort (timeout, client gone) kills the runner group; the next request gets a new runner', async () => {
    const controller = new AbortController();
    const sink = new Sink();
    let pid = 0;
    const running = runScript(host, dir.path('forever.py'), {
      sink,
      signal: controller.signal,
      onSpawn: (p) => (pid = p),
    });
    for (let i = 0; i < 100 && !sink.text.includes('started'); i++) await sleep(20);
    expect(sink.text).toContain('started');
    controller.abort();
    const { result } = await running;
    expect(result).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(false);
    expect(await helloPid()).not.toBe(pid);
  });

  it('a body the script did not read never reaches the next request', async () => {
    const body = new PassThrough();
    body.write(Buffer.alloc(200_000, 0x78));
    const ignored = runScript(host, dir.path('ignore-body.py'), { body });
    expect((await ignored).text).toContain('ignored the body');
    body.end('tail of the old body');
    const { text } = await runScript(host, dir.path('echo-body.py'), { body: Buffer.from('new body') });
    expect(text).toBe("Content-Type: text/plain\n\n'new body'\n");
  });

  it('a thread writing after its request ended cannot write into the next one: the runner is recycled', async () => {
    const { log, entries } = capturingLog();
    const own = await startRuntime('reset', 'reset', log);
    try {
      const first = await runScript(own, dir.path('late-thread.py'));
      expect(first.text).toContain('thread started');
      // The thread would write while this request runs: it died with the runner it ran in.
      const { text, lines } = await runScript(own, dir.path('slow.py'));
      expect(text).toBe('Content-Type: text/plain\n\nslow done\n');
      expect(lines).toEqual([]);
      expect(entries).toContainEqual(
        expect.objectContaining({
          msg: 'python runner recycled',
          script: dir.path('late-thread.py'),
          reason: '1 thread(s) the script started still running',
        }),
      );
      expect(entries.filter((e) => e.msg === 'python exited')).toEqual([]);
    } finally {
      await own.close();
    }
  }, 20_000);

  it.each(['alarm.py', 'raw-alarm.py'])(
    'an alarm %s left pending is cancelled when its request ends',
    async (script) => {
      const pid = await helloPid();
      expect((await runScript(host, dir.path(script))).text).toMatch(/alarm set|would kill/);
      // slow.py runs past the moment the alarm was due.
      const { result, text } = await runScript(host, dir.path('slow.py'));
      expect(result).toEqual({ exitCode: 0, signal: null });
      expect(text).toContain('slow done');
      await sleep(500);
      expect(await helloPid()).toBe(pid);
    },
  );

  it('a umask set by one request is put back for the next', async () => {
    const first = (await runScript(host, dir.path('umask.py'))).text;
    const second = (await runScript(host, dir.path('umask.py'))).text;
    expect(second).toBe(first);
    expect(second).not.toContain('0o77\n');
  });

  it('logs a runner that died, and what its process group wrote to its stderr while idle', async () => {
    const { log, entries } = capturingLog();
    const own = await startRuntime('reset', 'reset', log);
    try {
      const { result } = await runScript(own, dir.path('_exit.py'));
      expect(result.exitCode).toBe(7);
      await sleep(300);
      expect(entries).toContainEqual(
        expect.objectContaining({ msg: 'python exited', exitCode: 7, signal: null }),
      );
      // A child the script left writes to the runner's own stderr after the request.
      await runScript(own, dir.path('late-child.py'));
      await sleep(800);
      expect(entries).toContainEqual(
        expect.objectContaining({ msg: 'python stderr', line: 'late line from a child' }),
      );
    } finally {
      await own.close();
    }
  }, 20_000);
});

describe('python runtime: start', () => {
  it('rejects with a DaemonError naming a missing interpreter and the cause', async () => {
    const starting = createPythonRuntime(
      { python: { executable: 'python9' }, state: { modules: 'reset', globals: 'reset' } },
      { log: silentLog },
    );
    await expect(starting).rejects.toThrow('runtime: python: cannot start "python9": spawn python9 ENOENT');
    await expect(starting).rejects.toBeInstanceOf(DaemonError);
    await expect(starting).rejects.toMatchObject({ code: ErrorCode.ERR_RUNTIME_START });
  });

  it('rejects when the executable is not a python that says hello', async () => {
    const starting = createPythonRuntime(
      { python: { executable: '/bin/false' }, state: { modules: 'reset', globals: 'reset' } },
      { log: silentLog },
    );
    await expect(starting).rejects.toThrow(
      'runtime: python: cannot start "/bin/false": exited with code 1 before its hello',
    );
  });
});
