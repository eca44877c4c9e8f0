// This file implements the python state-leak probes of the process's own state (working
// directory, umask, signals, threads, children, descriptors, identity ...) from the perspective
// of the suites that attack the privacy boundary between requests; 11-python-leak-probes.ts
// holds the probes of bindings and the environment, and the probe's shape.
import type { LeakProbe } from './11-python-leak-probes.ts';

/** One probe per row of docs/ISOLATION.md's state table about the process's state. */
export const PROCESS_PROBES: readonly LeakProbe[] = [
  {
    id: 'cwd',
    row: 'working directory',
    attack: 'os.chdir("/")',
    check: 'print(os.getcwd() == os.path.dirname(os.path.abspath(__file__)))',
  },
  {
    id: 'umask',
    row: 'umask',
    attack: 'os.umask(0o077)',
    check: 'mask = os.umask(0)\nos.umask(mask)\nprint(oct(mask))',
  },
  {
    id: 'signal_handler',
    row: 'signal handlers, signal mask, timers',
    attack: [
      'signal.signal(signal.SIGUSR1, lambda *a: print("secret of request A"))',
      'signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])',
    ].join('\n'),
    check:
      'print(signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))',
  },
  {
    id: 'alarm',
    row: 'signal handlers, signal mask, timers',
    attack:
      'signal.signal(signal.SIGALRM, lambda *a: print("ALARM from request A", flush=True))\nsignal.setitimer(signal.ITIMER_REAL, 0.3)',
    check: 'time.sleep(0.6)\nprint("clean")',
  },
  {
    id: 'atexit_hook',
    row: 'atexit callbacks',
    attack: 'import atexit\natexit.register(print, "at exit of request A")',
    attackEnds: 'attacked\nat exit of request A\n',
    check: 'print("clean")',
  },
  {
    id: 'stdout_replaced',
    row: 'sys.stdin, sys.stdout, sys.stderr',
    attack:
      'import io\nsys.stdout = io.StringIO()\nsys.stderr = io.StringIO()\nprint("lost in the replacement")',
    attackEnds: 'attacked\n',
    check: 'print("clean", sys.stdout is sys.__stdout__)',
  },
  {
    id: 'excepthook',
    row: 'sys hooks (excepthook, displayhook, trace and profile functions)',
    attack: 'sys.excepthook = lambda *a: print("hooked")\nsys.setprofile(lambda *a: None)',
    check: 'print(sys.excepthook is sys.__excepthook__, sys.getprofile())',
  },
  {
    id: 'random_seed',
    row: 'random state',
    attack: 'import random\nrandom.seed(42)',
    check: 'import random\nprint(random.random() == 0.6394267984578837)',
  },
  {
    id: 'thread',
    row: 'threads still running',
    attack: [
      'import threading',
      'out = sys.stdout',
      'def later():',
      '    time.sleep(0.3)',
      '    print("THREAD LEAK: secret of request A", flush=True)',
      '    out.write("THREAD LEAK through the old stdout\\n")',
      'threading.Thread(target=later, daemon=True).start()',
    ].join('\n'),
    check: 'time.sleep(0.7)\nprint("clean")',
    recycles: 'always',
  },
  {
    id: 'forked_child',
    row: 'child processes still running',
    attack: [
      'sys.stdout.flush()',
      'if os.fork() == 0:',
      '    time.sleep(0.3)',
      '    print("FORK LEAK: secret of request A", flush=True)',
      '    os._exit(0)',
    ].join('\n'),
    check: 'time.sleep(0.7)\nprint("clean")',
    recycles: 'always',
  },
  {
    id: 'open_descriptor',
    row: 'open file descriptors',
    attack: [
      'path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "secret.txt")',
      'with open(path, "w") as f: f.write("secret of request A")',
      'os.open(path, os.O_RDONLY)',
    ].join('\n'),
    check: [
      'found = "absent"',
      'for fd in os.listdir("/proc/self/fd"):',
      '    try:',
      '        if os.readlink("/proc/self/fd/" + fd).endswith("secret.txt"): found = "found"',
      '    except OSError: pass',
      'print(found)',
    ].join('\n'),
    keep: { printed: 'found' },
    recycles: 'reset',
  },
  {
    // As many descriptors as before the request, but not the same ones: the runner's count of
    // /proc/self/fd alone would miss it; the listing it then falls back to does not.
    id: 'open_descriptor_renumbered',
    row: 'open file descriptors',
    attack: [
      'path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "secret-renumbered.txt")',
      'with open(path, "w") as f: f.write("secret of request A")',
      'def is_open(fd):',
      '    try:',
      '        os.fstat(fd)',
      '        return True',
      '    except OSError:',
      '        return False',
      'victims = [fd for fd in map(int, os.listdir("/proc/self/fd")) if fd > 4 and is_open(fd)]',
      'if victims: os.close(max(victims))',
      'first = os.open(path, os.O_RDONLY)',
      'os.open(path, os.O_RDONLY)',
      'os.close(first)',
    ].join('\n'),
    check: [
      'found = "absent"',
      'for fd in os.listdir("/proc/self/fd"):',
      '    try:',
      '        if os.readlink("/proc/self/fd/" + fd).endswith("secret-renumbered.txt"): found = "found"',
      '    except OSError: pass',
      'print(found)',
    ].join('\n'),
    keep: { printed: 'found' },
    recycles: 'reset',
  },
  {
    id: 'audit_hook',
    row: 'audit hooks, ctypes, gc introspection',
    attack: 'sys.addaudithook(lambda event, args: event == "open" and print("AUDIT LEAK", args[0]))',
    check: 'open(__file__).close()\nprint("clean")',
    recycles: 'always',
  },
  {
    id: 'ctypes_used',
    row: 'audit hooks, ctypes, gc introspection',
    attack: 'import ctypes\nctypes.c_int(1)',
    check: 'print("clean")',
    recycles: 'always',
  },
  {
    id: 'warnings_filter',
    row: 'warning filters',
    attack: 'import warnings\nwarnings.simplefilter("error")',
    check: 'import warnings\nwarnings.warn("a warning, not an error")\nprint("clean")',
  },
  {
    id: 'interpreter_settings',
    row: 'interpreter settings (recursion limit, switch interval, collector)',
    attack: 'sys.setrecursionlimit(100)\nsys.setswitchinterval(0.5)\ngc.disable()\ngc.set_threshold(1)',
    check: 'print(sys.getrecursionlimit(), sys.getswitchinterval(), gc.isenabled(), gc.get_threshold())',
  },
  {
    id: 'locale',
    row: 'C locale',
    attack: 'import locale\nlocale.setlocale(locale.LC_ALL, "C")',
    check: 'import locale\nprint(locale.setlocale(locale.LC_ALL))',
  },
  {
    id: 'time_zone',
    row: 'time zone',
    attack: 'os.environ["TZ"] = "JST-9"\ntime.tzset()',
    check: 'print(time.tzname, time.timezone, time.localtime(0).tm_hour)',
  },
  {
    id: 'codec_registered',
    row: 'codec search functions',
    attack:
      'import codecs\ncodecs.register(lambda name: codecs.lookup("utf-8") if name == "cgi_fpm_leak" else None)',
    check:
      'import codecs\ntry:\n    codecs.lookup("cgi_fpm_leak")\n    print("found")\nexcept LookupError:\n    print("absent")',
  },
  {
    id: 'process_identity',
    row: 'process identity (user, group, session, process group, priority)',
    // A pool's scripts run as root only when the daemon runs as root with no pool `user`;
    // then a script can drop its group (a non-root script cannot change its ids at all).
    attack: 'os.setegid(65534)',
    check: 'print(os.getegid() == os.getgid())',
    recycles: 'always',
    needsRoot: true,
  },
  {
    id: 'deep_state',
    row: 'contents of objects inside modules loaded before the request',
    attack: 'import encodings\nencodings._cache["cgi_fpm_leak"] = "secret of request A"',
    check: 'import encodings\nprint(encodings._cache.get("cgi_fpm_leak", "absent"))',
    keep: { printed: 'secret of request A' },
    reset: { printed: 'secret of request A' },
  },
];
