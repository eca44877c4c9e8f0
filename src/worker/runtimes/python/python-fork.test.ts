import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createPythonRuntime } from './python.ts';
import {
  Sink,
  runScript,
  silentLog,
  startRuntime,
  useRuntime,
  type RunOptions,
} from './runtime-test-peer.ts';

const HEAD = 'print("Content-Type: text/plain")\nprint()\n';

// isolation = "fork": every request in a fresh child of the runner, which never runs script
// code; the child is made a fresh CGI process and ends as python3 would.
const scripts: Record<string, string> = {
  'ids.py': `import os\n${HEAD}print(os.getpid(), os.getppid())\n`,
  'attack.py': [
    'import builtins, os, random, sys, threading, time',
    'builtins.LEAKED = "secret of request A"',
    'os.urandom = lambda n: bytes(n)',
    'os.environ["LEAKED"] = "yes"',
    'os.chdir("/")',
    'random.seed(42)',
    'sys.path.append("/attacker")',
    'def later():',
    '    time.sleep(0.3)',
    '    print("LEAK from request A", flush=True)',
    'threading.Thread(target=later, daemon=True).start()',
    HEAD,
    'print("attacked")',
    '',
  ].join('\n'),
  'victim.py': [
    'import builtins, os, random, sys, time',
    'time.sleep(0.5)',
    HEAD,
    'print(getattr(builtins, "LEAKED", "absent"), os.urandom(4) != bytes(4), os.environ.get("LEAKED", "absent"))',
    'print(os.getcwd() == os.path.dirname(__file__), "/attacker" in sys.path)',
    '',
  ].join('\n'),
  'rand.py': `import random\n${HEAD}print(random.random())\n`,
  'fds.py': `import os\n${HEAD}print(sorted(int(fd) for fd in os.listdir("/proc/self/fd"))[:3], len(os.listdir("/proc/self/fd")))\n`,
  'signals.py': [
    'import signal',
    HEAD,
    'print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN, signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)',
    'signal.signal(signal.SIGTERM, lambda *a: None)',
    '',
  ].join('\n'),
  'thread-joined.py': [
    'import sys, threading, time',
    HEAD,
    'def later():',
    '    time.sleep(0.2)',
    '    print("from the thread")',
    'threading.Thread(target=later).start()',
    'print("main done")',
    '',
  ].join('\n'),
  'exit-hooks.py': `import atexit\n${HEAD}atexit.register(lambda: print("at exit"))\nprint("body")\n`,
  '_exit.py': `import os\n${HEAD}print("flushed", flush=True)\nprint("lost")\nos._exit(7)\n`,
  'segfault.py': `import ctypes\n${HEAD}ctypes.string_at(0)\n`,
  'background.py': [
    'import subprocess, sys',
    HEAD,
    'sys.stdout.flush()',
    'subprocess.Popen(["sh", "-c", "sleep 0.3; echo from the background"])',
    '',
  ].join('\n'),
  'unclosed.py': [
    'import os',
    HEAD,
    'out = open(os.environ["TARGET"], "w")',
    'out.write("written without close")',
    'print("left open")',
    '',
  ].join('\n'),
  'preloaded.py': [
    'import os, sys',
    'import fork_hooks',
    HEAD,
    'print(fork_hooks.IMPORTED_IN == os.getppid(), getattr(sys, "forked_marker", None) == os.getpid())',
    '',
  ].join('\n'),
  'forever.py': `import time\n${HEAD}print("started", flush=True)\nwhile True:\n    time.sleep(1)\n`,
  'fork_hooks.py': [
    'import os, sys',
    'IMPORTED_IN = os.getpid()',
    'os.register_at_fork(after_in_child=lambda: setattr(sys, "forked_marker", os.getpid()))',
    '',
  ].join('\n'),
};

const fork = useRuntime(scripts, () => startRuntime('reset', 'reset', silentLog, 'fork'));

/** Runs the script `name` of the suite's directory on the fork runtime. */
function run(name: string, options?: RunOptions): ReturnType<typeof runScript> {
  return runScript(fork.host(), fork.dir().path(name), options);
}

function body(text: string): string {
  return text.slice(text.indexOf('\n\n') + 2).trim();
}

async function ids(): Promise<[string, string]> {
  const [pid = '', parent = ''] = body((await run('ids.py')).text).split(' ');
  return [pid, parent];
}

describe('python runtime: isolation = fork', () => {
  it('runs each request in a new child of the same runner', async () => {
    const [first, parent] = await ids();
    const [second, sameParent] = await ids();
    expect(second).not.toBe(first);
    expect(sameParent).toBe(parent);
  });

  it("nothing a request changes reaches the next: builtins, os.urandom, environ, cwd, sys.path, a thread's output", async () => {
    const [, parent] = await ids();
    expect(body((await run('attack.py')).text)).toBe('attacked');
    const { text, lines } = await run('victim.py');
    expect(body(text)).toBe('absent True absent\nTrue False');
    expect(text).not.toContain('LEAK');
    expect(lines).toEqual([]);
    expect((await ids())[1]).toBe(parent);
  });

  it('reseeds random in every child (a seed set by one request is not the next)', async () => {
    const values = new Set<string>();
    for (let i = 0; i < 3; i++) values.add(body((await run('rand.py')).text));
    expect(values.size).toBe(3);
  });

  it('closes every inherited descriptor but 0, 1 and 2', async () => {
    // The listing's own descriptor is the fourth.
    expect(body((await run('fds.py')).text)).toBe('[0, 1, 2] 4');
  });

  it("gives each child python's own signal handlers, whatever the last one set", async () => {
    expect(body((await run('signals.py')).text)).toBe('True True True');
    expect(body((await run('signals.py')).text)).toBe('True True True');
  });

  it('ends as python3 does: waits for a non-daemon thread, runs atexit callbacks', async () => {
    expect(body((await run('thread-joined.py')).text)).toBe('main done\nfrom the thread');
    expect(body((await run('exit-hooks.py')).text)).toBe('body\nat exit');
  });

  it('flushes and closes a file the script left open', async () => {
    const target = fork.dir().path('unclosed.txt');
    await run('unclosed.py', { env: { TARGET: target } });
    expect(await readFile(target, 'utf8')).toBe('written without close');
  });

  it('os._exit(7) and a segfault end the child alone: exit 7, SIGSEGV; the runner stays', async () => {
    const [, parent] = await ids();
    const exited = await run('_exit.py');
    expect(exited.result).toEqual({ exitCode: 7, signal: null });
    expect(exited.text).toBe('Content-Type: text/plain\n\nflushed\n');
    const crashed = await run('segfault.py');
    expect(crashed.result).toEqual({ exitCode: null, signal: 'SIGSEGV' });
    expect(crashed.lines.join('\n')).toContain('Fatal Python error: Segmentation fault');
    expect((await ids())[1]).toBe(parent);
  });

  it('an abort (timeout, client gone) kills the runner group, child included; the next request runs', async () => {
    const [, parent] = await ids();
    const controller = new AbortController();
    const spawned: number[] = [];
    // Aborted once the script is running (its first output arrived).
    const sink = new (class extends Sink {
      override _write(
        chunk: Buffer,
        encoding: BufferEncoding,
        callback: (error?: Error | null) => void,
      ): void {
        super._write(chunk, encoding, callback);
        controller.abort();
      }
    })();
    const forever = run('forever.py', {
      sink,
      signal: controller.signal,
      onSpawn: (pid) => spawned.push(pid),
    });
    const { result, text } = await forever;
    expect(result.signal).toBe('SIGKILL');
    expect(text).toContain('started');
    expect(spawned).toEqual([Number(parent)]);
    const [, next] = await ids();
    expect(next).not.toBe(parent);
  });

  it('a background process holding stdout keeps the request open until it closes it, as under CGI', async () => {
    expect(body((await run('background.py')).text)).toBe('from the background');
  });

  it('honours os.register_at_fork hooks of preloaded modules, imported once in the runner', async () => {
    const own = await createPythonRuntime(
      {
        python: { executable: 'python3' },
        state: { modules: 'reset', globals: 'reset' },
        env: { PYTHONPATH: fork.dir().dir },
        clearEnv: true,
        isolation: 'fork',
        preload: ['fork_hooks'],
      },
      { log: silentLog, inherited: process.env },
    );
    try {
      expect(body((await runScript(own, fork.dir().path('preloaded.py'))).text)).toBe('True True');
    } finally {
      await own.close();
    }
  });

  it('a preload that cannot be imported stops the runtime with the reason', async () => {
    const starting = createPythonRuntime(
      {
        python: { executable: 'python3' },
        state: { modules: 'reset', globals: 'reset' },
        env: {},
        isolation: 'fork',
        preload: ['no_such_module_here'],
      },
      { log: silentLog, inherited: process.env },
    );
    await expect(starting).rejects.toThrow(
      "cgi-fpm runner: preload: cannot import 'no_such_module_here': ModuleNotFoundError: No module named 'no_such_module_here'",
    );
  });
});
