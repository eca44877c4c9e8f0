// This file implements the python state-leak probes from the perspective of the suites that
// attack the privacy boundary between requests (11-python-state-leaks, 16-python-fork-state-
// leaks): one per row of docs/ISOLATION.md's state table, as python statements; the suite
// (11-python-leak-suite.ts) makes each a CGI script.

import { PROCESS_PROBES } from './11-python-leak-probes-process.ts';

/** What the second check prints, where it is not what the first printed. */
export type Expected = 'same' | { readonly printed: string };

/** One row of the state table, as an attack and a check. */
export interface LeakProbe {
  /** The script's file stem. */
  readonly id: string;
  /** The row of docs/ISOLATION.md the probe shows. */
  readonly row: string;
  /** Python statements run on `?attack`, after the CGI head and the line `attacked`. */
  readonly attack: string;
  /** Python statements printing the one line the check answers. */
  readonly check: string;
  /** The second check under `state.* = "keep"`, when the table says the state is kept. */
  readonly keep?: Expected;
  /** The same under `reset` when the table says so (a documented limit of persistence). */
  readonly reset?: Expected;
  /** Text the attack's own response must end with (what it printed, then its at-exit output). */
  readonly attackEnds?: string;
  /** The persistent runner recycles itself after the attack (every policy, or `reset` only). */
  readonly recycles?: 'always' | 'reset';
  /** The attack needs the daemon to run as root (as CI does). */
  readonly needsRoot?: true;
}

/** Probes of what a request can rebind or put into modules, classes and the environment. */
const BINDING_PROBES: readonly LeakProbe[] = [
  {
    id: 'builtins_value',
    row: 'builtins',
    attack: 'builtins.LEAKED_VALUE = "secret of request A"',
    check: 'print(getattr(builtins, "LEAKED_VALUE", "absent"))',
  },
  {
    id: 'builtins_function',
    row: 'builtins',
    attack: 'builtins.sorted = lambda *args, **kwargs: ["hacked"]',
    check: 'print(sorted([3, 1, 2]))',
  },
  {
    id: 'builtins_dict',
    row: 'builtins',
    attack: 'exec("__builtins__[\'LEAKED_NAME\'] = 1", {"__builtins__": builtins.__dict__})',
    check: 'print("LEAKED_NAME" in vars(builtins))',
  },
  {
    id: 'os_urandom',
    row: 'attributes of modules loaded before the request',
    attack: 'os.urandom = lambda n: bytes(n)',
    check: 'print(os.urandom(16) != bytes(16))',
  },
  {
    id: 'module_dict',
    row: 'attributes of modules loaded before the request',
    attack: 'vars(os)["sep"] = "\\\\"',
    check: 'print(os.sep)',
  },
  {
    id: 'json_dumps',
    row: 'attributes of modules loaded before the request',
    attack: 'import json\njson.dumps = lambda *a, **k: "hacked"\njson.loads = lambda *a, **k: "hacked"',
    check: 'import json\nprint(json.dumps({"a": [1]}))',
  },
  {
    id: 'protocol',
    row: "the runner's own protocol",
    attack: [
      'import json, struct',
      'json.dumps = json.loads = lambda *a, **k: "GARBAGE"',
      'struct.pack = lambda *a: b"GARBAGE"',
      'builtins.len = lambda obj: 7',
      'builtins.memoryview = lambda obj: b"GARBAGE"',
      'sys.stdout.write("written after the patches\\n")',
    ].join('\n'),
    attackEnds: 'attacked\nwritten after the patches\n',
    check: 'print("intact", len("ab"))',
  },
  {
    id: 'class_attribute',
    row: 'attributes of classes loaded before the request',
    attack: 'import collections.abc\ncollections.abc.Mapping.get = lambda self, key, default=None: "hacked"',
    check: 'print(os.environ.get("NOT_SET_ANYWHERE", "default"))',
  },
  {
    id: 'function_code',
    row: 'code and defaults of functions loaded before the request',
    attack: 'os.path.join.__code__ = (lambda *parts: "hacked").__code__',
    check: 'print(os.path.join("a", "b"))',
  },
  {
    id: 'sys_path',
    row: 'sys.path, sys.meta_path, sys.path_hooks',
    attack: [
      'sys.path.append("/attacker")',
      'class Finder:',
      '    def find_spec(self, *args): return None',
      'sys.meta_path.insert(0, Finder())',
      'sys.path_hooks.insert(0, lambda path: None)',
    ].join('\n'),
    check: 'print("/attacker" in sys.path, len(sys.meta_path), len(sys.path_hooks))',
  },
  {
    id: 'sys_modules',
    row: 'sys.modules',
    attack: 'sys.modules["os"] = type(sys)("fake os")',
    check: 'print(sys.modules["os"].__name__)',
  },
  {
    id: 'imported_module',
    row: 'modules a request imported',
    attack: 'import colorsys',
    check: 'print("colorsys" in sys.modules)',
    keep: { printed: 'True' },
  },
  {
    id: 'script_globals',
    row: 'script globals',
    attack: 'SECRET_GLOBAL = "secret of request A"',
    check: 'print(globals().get("SECRET_GLOBAL", "absent"))',
    keep: { printed: 'secret of request A' },
  },
  {
    id: 'environ',
    row: 'os.environ and the C environment',
    attack: 'os.environ["LEAKED_ENV"] = "secret"\nos.putenv("LEAKED_PUTENV", "secret")',
    check:
      'import subprocess\nprint(os.environ.get("LEAKED_ENV", "absent"), subprocess.run(["/usr/bin/env"], capture_output=True).stdout.count(b"LEAKED"))',
  },
  {
    // Behind os.environ's back (its storage, no putenv): the runner applies the next
    // request's environment by difference only while that storage is untouched.
    id: 'environ_storage',
    row: 'os.environ and the C environment',
    attack: 'os.environ._data[b"LEAKED_RAW"] = b"secret"\nos.environ._data[b"GATEWAY_INTERFACE"] = b"secret"',
    check: 'print(os.environ.get("LEAKED_RAW", "absent"), os.environ.get("GATEWAY_INTERFACE"))',
  },
  {
    // os.environ's own attributes (its codec functions, its storage): an instance, not a module
    // or a class, so the bindings of the baseline hold it explicitly.
    id: 'environ_codec',
    row: 'os.environ and the C environment',
    attack: 'os.environ.decodevalue = lambda value, secret="secret of request A": secret',
    check: 'print(os.environ.get("GATEWAY_INTERFACE"))',
  },
];

/** Every probe: the bindings above, then the process's state (11-python-leak-probes-process.ts). */
export const PROBES: readonly LeakProbe[] = [...BINDING_PROBES, ...PROCESS_PROBES];
