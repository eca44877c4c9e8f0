"""Process state around one request, and the scripts' compiled code.

This file implements, from the perspective of the runner, what must look like a fresh CGI
process to every script and be put back afterwards: cwd, sys.argv, sys.path, the standard
streams, sys.excepthook, __main__, the umask, signal handlers and a pending alarm (always),
plus the modules a request imported (state.modules = reset) and the script globals
(state.globals = reset). os.environ is made exactly the request's environment when each
request starts, whatever the previous one did to it. Stdlib only.
"""

import builtins
import os
import signal
import sys
import types

# Handlers a CGI script may set that would outlive it here: a stray SIGALRM from a script's
# signal.alarm() must not kill the runner in the middle of another script.
_SIGNAL_NAMES = ("SIGALRM", "SIGCHLD", "SIGHUP", "SIGINT", "SIGPIPE", "SIGTERM", "SIGUSR1", "SIGUSR2")
_SIGNALS = tuple(getattr(signal, name) for name in _SIGNAL_NAMES if hasattr(signal, name))


class Baseline:
    """The runner's own process state, captured once at start and restored after each request."""

    def __init__(self):
        self.cwd = os.getcwd()
        self.argv = list(sys.argv)
        self.path_list = sys.path  # the list object itself: code may hold a reference to it
        self.path = list(sys.path)
        self.streams = _streams()
        self.excepthook = sys.excepthook
        self.main = sys.modules["__main__"]
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.signals = [(number, signal.getsignal(number)) for number in _SIGNALS]

    def enter(self, env, script, cwd, stdio):
        """Makes the process look like `python script` started by a web server for `env`."""
        apply_environ(env)
        os.chdir(cwd)
        sys.argv = [script]
        # Like `python script.py`: the script's directory first, so its helpers import.
        sys.path = self.path_list
        sys.path[:] = [os.path.dirname(script)] + self.path
        sys.stdin, sys.stdout, sys.stderr = stdio.stdin, stdio.stdout, stdio.stderr
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = stdio.stdin, stdio.stdout, stdio.stderr

    def restore(self):
        """Puts back everything `enter` (or the script) changed, whatever the state policy."""
        os.chdir(self.cwd)
        sys.argv = list(self.argv)
        sys.path = self.path_list
        sys.path[:] = self.path
        (sys.stdin, sys.stdout, sys.stderr) = self.streams[:3]
        (sys.__stdin__, sys.__stdout__, sys.__stderr__) = self.streams[3:]
        sys.excepthook = self.excepthook
        sys.modules["__main__"] = self.main
        os.umask(self.umask)
        signal.setitimer(signal.ITIMER_REAL, 0)  # also cancels signal.alarm()
        for number, handler in self.signals:
            if handler is not None and signal.getsignal(number) is not handler:
                signal.signal(number, handler)


def apply_environ(wanted):
    """Makes os.environ (and the C environment that subprocesses inherit) exactly `wanted`,
    whatever the previous request set or removed, touching only the variables that differ.

    Consecutive CGI environments differ in a handful of variables, so this costs ~30 us where
    os.environ.clear() + update() (or a restore to the runner's own environment after each
    request, then a clear + update) costs ~200 us: each os.environ item goes through putenv and
    python-level encoding. Between requests os.environ keeps the last request's variables; no
    script ever sees them.
    """
    environ = os.environ
    current = dict(environ)
    for name in current.keys() - wanted.keys():
        del environ[name]
    for name, value in wanted.items():
        if current.get(name) != value:
            environ[name] = value


def _streams():
    return (sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__)


def drop_modules_since(before):
    """state.modules = reset: forgets every module imported since `before` (a set of names),
    so the next request imports it fresh, as a new CGI process would.
    """
    for name in [name for name in list(sys.modules) if name not in before]:
        module = sys.modules.pop(name, None)
        # `import a.b` also set attribute b on package a: drop it if a stays.
        parent, _, child = name.rpartition(".")
        package = sys.modules.get(parent) if parent else None
        if package is not None and getattr(package, child, None) is module:
            try:
                delattr(package, child)
            except (AttributeError, TypeError):
                pass


class CodeCache:
    """Compiled scripts, keyed by path; recompiled when the file's mtime, size or inode change,
    so an edited script runs on its next request without a restart.
    """

    def __init__(self):
        self._entries = {}  # path -> ((mtime_ns, size, inode), code)

    def get(self, path):
        """Returns (code, changed): changed is True when the file was (re)compiled."""
        stat = os.stat(path)
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        entry = self._entries.get(path)
        if entry is not None and entry[0] == key:
            return entry[1], False
        with open(path, "rb") as source:
            # Bytes, so a PEP 263 coding line is honoured as python3 would.
            code = compile(source.read(), path, "exec", dont_inherit=True)
        self._entries[path] = (key, code)
        return code, True


class Namespaces:
    """The __main__ module each run executes in: new per request (state.globals = reset), or
    one per script kept across requests (keep) until the script changes.
    """

    def __init__(self, keep):
        self._keep = keep
        self._kept = {}  # path -> module

    def main_for(self, path, changed):
        if self._keep and not changed:
            module = self._kept.get(path)
            if module is not None:
                return module
        module = types.ModuleType("__main__")
        module.__file__ = path
        module.__cached__ = None
        module.__builtins__ = builtins
        if self._keep:
            self._kept[path] = module
        return module
