"""Process state around one request: what a fresh CGI process would have, and putting it back.

This file implements, from the perspective of the runner, the interpreter-wide state that is
not a binding of a module or class (_cgi_fpm_bindings checks those): the environment (os.environ
and the C environment), cwd, argv, the import path lists, umask, signal handlers, a pending
alarm, the signal mask, the C-level trace and profile functions, recursion limit, switch
interval, the collector's settings, warning filters, the C locale, the time zone and the
random module's state. `install` makes a process look like `python script` started for a
request (the persistent runner and a forked child both use it); `Baseline.restore` undoes a
request in the persistent runner. Every function and builtin is captured at import: a script's
patches cannot reach this code. Stdlib only.
"""

import _locale
import gc
import os
import sys
import time
from _operator import is_

from _cgi_fpm_noted import Noted
from builtins import (
    OSError, ValueError, all, bytes, dict, getattr, int, isinstance, len, list, map, set,
    setattr, staticmethod, str, tuple, type, zip,
)

_chdir = os.chdir
_putenv = os.putenv
_unsetenv = os.unsetenv
_getcwd = os.getcwd
_umask = os.umask
_dirname = os.path.dirname
_urandom = os.urandom
_setlocale = _locale.setlocale
_tzset = time.tzset
_from_bytes = int.from_bytes
_gettrace = sys.gettrace
_settrace = sys.settrace
_getprofile = sys.getprofile
_setprofile = sys.setprofile
_getrecursionlimit = sys.getrecursionlimit
_setrecursionlimit = sys.setrecursionlimit
_getswitchinterval = sys.getswitchinterval
_setswitchinterval = sys.setswitchinterval
_get_digits = getattr(sys, "get_int_max_str_digits", None)
_set_digits = getattr(sys, "set_int_max_str_digits", None)
_gc_isenabled = gc.isenabled
_gc_enable = gc.enable
_gc_get_threshold = gc.get_threshold
_gc_set_threshold = gc.set_threshold
_gc_freeze_count = getattr(gc, "get_freeze_count", None)
_gc_unfreeze = getattr(gc, "unfreeze", None)
_environ = os.environ
_modules = sys.modules
_path = sys.path
_meta_path = sys.meta_path
_path_hooks = sys.path_hooks
_importer_cache = sys.path_importer_cache

_TZ_NAMES = ("tzname", "timezone", "altzone", "daylight")
# The sys bindings `install` sets for each request.
_SYS_NAMES = ("argv", "path", "stdin", "stdout", "stderr", "__stdin__", "__stdout__", "__stderr__")


def install(env, script, cwd, stdio):
    """Makes the process look like `python script` started by a web server for `env`. (The
    persistent runner stays in the last request's directory between requests: requests for
    one directory cost no chdir.)"""
    apply_environ(env)
    if _getcwd() != cwd:
        _chdir(cwd)
    sys.argv = [script]
    # Like `python script.py`: the script's directory first, so its helpers import.
    sys.path = _path
    _path.insert(0, _dirname(script))
    sys.stdin, sys.stdout, sys.stderr = stdio.stdin, stdio.stdout, stdio.stderr
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = stdio.stdin, stdio.stdout, stdio.stderr


def apply_environ(wanted):
    """Makes os.environ (and the C environment that subprocesses inherit) exactly `wanted`,
    whatever the previous request set or removed, touching only the variables that differ.

    Consecutive CGI environments differ in a handful of variables, so this costs ~30 us where
    os.environ.clear() + update() costs ~200 us: each os.environ item goes through putenv and
    python-level encoding. Between requests os.environ keeps the last request's variables; no
    script ever sees them. A variable the C library refuses (a NUL, `=` in a name) is skipped.

    Reading os.environ back whole decodes every item (~35 us for 30 variables); so when its
    storage (os.environ._data: bytes to bytes) holds exactly the objects it held after the last
    call, in the same order, os.environ is still that call's `wanted`, and only the difference
    of the two `wanted` dicts is applied (~5 us). Anything else (a script that set, removed or
    replaced a variable, or the storage itself) takes the full comparison.
    """
    environ = _environ
    data = getattr(environ, "_data", None)
    last = _applied[0]
    if last is not None and data is _applied[1] and _same_storage(data, _applied[2], _applied[3]):
        current = last
    else:
        current = dict(environ)
    complete = True
    for name in current.keys() - wanted.keys():
        del environ[name]
    for name, value in wanted.items():
        if current.get(name) != value:
            try:
                environ[name] = value
            except (ValueError, OSError):
                complete = False
    if complete and type(data) is dict and data is getattr(environ, "_data", None):
        _applied[:] = [wanted, data, list(data), list(data.values())]
    else:
        _applied[:] = [None, None, None, None]


# What the last apply_environ left: its `wanted`, os.environ's storage, that storage's keys and
# values (the objects themselves, compared by identity).
_applied = [None, None, None, None]


def _same_storage(data, keys, values):
    return (
        type(data) is dict
        and len(data) == len(keys)
        and all(map(is_, data.values(), values))
        and all(map(is_, data, keys))
    )


class Baseline:
    """The runner's own process state, captured once before any script ran."""

    def __init__(self):
        self.sys_values = tuple(getattr(sys, name) for name in _SYS_NAMES)
        self.cwd = _getcwd()
        self.path = list(_path)
        self.meta_path = list(_meta_path)
        self.path_hooks = list(_path_hooks)
        self.importer_cache = dict(_importer_cache)
        self.umask = _umask(0o022)
        _umask(self.umask)
        self.noted = Noted()
        self.trace, self.profile = _gettrace(), _getprofile()
        self.recursion = _getrecursionlimit()
        self.switch = _getswitchinterval()
        self.digits = _get_digits() if _get_digits else None
        self.gc = (_gc_isenabled(), _gc_get_threshold())
        self.frozen = _gc_freeze_count() if _gc_freeze_count else 0
        self.locale = _setlocale(_locale.LC_ALL)
        warnings = _modules.get("warnings")
        self.filters = getattr(warnings, "filters", None)
        self.filters_copy = list(self.filters) if self.filters is not None else None
        self.tz = tuple(getattr(time, name) for name in _TZ_NAMES)
        self.tz_env = _environ.get("TZ")
        self.tz_set = False  # the C time zone is not the runner's own (see enter)

    def enter(self, env, script, cwd, stdio):
        """`install`, plus the C time zone the request's TZ asks for."""
        install(env, script, cwd, stdio)
        if env.get("TZ") != self.tz_env:
            _tzset()
            self.tz_set = True

    def leave(self):
        """Puts back the sys bindings `enter` set, so that only what the script itself bound
        differs from the baseline when the bindings are compared."""
        for name, value in zip(_SYS_NAMES, self.sys_values):
            setattr(sys, name, value)
        # time.tzset() rebinds these; the bindings are put back before `restore` runs.
        if any_differs(time, _TZ_NAMES, self.tz):
            self.tz_set = True

    def restore(self):
        """Puts back what `enter` or the script changed (whatever the state policy), except
        bindings such as sys.argv and sys.stdout (_cgi_fpm_bindings puts those back) and
        os.environ (the next `enter` makes it that request's).
        """
        _path[:] = self.path
        _meta_path[:] = self.meta_path
        _path_hooks[:] = self.path_hooks
        if len(_importer_cache) != len(self.importer_cache) or not _same_items(
            _importer_cache, self.importer_cache
        ):
            _importer_cache.clear()
            _importer_cache.update(self.importer_cache)
        _umask(self.umask)
        reasons = self.noted.restore()
        self._restore_interpreter()
        self._restore_time_zone()
        reseed_random()
        return reasons

    def restore_c_environ(self, names):
        """Makes the C environment agree with os.environ for variables a request set or
        removed with os.putenv / os.unsetenv, behind os.environ's back (the next request's
        `enter` only compares os.environ)."""
        for name in names:
            if isinstance(name, bytes):
                name = name.decode("utf-8", "surrogateescape")
            if not isinstance(name, str):
                continue
            value = _environ.get(name)
            try:
                if value is None:
                    _unsetenv(name)
                else:
                    _putenv(name, value)
            except (ValueError, OSError):
                pass

    def _restore_interpreter(self):
        if _gettrace() is not self.trace:
            _settrace(self.trace)
        if _getprofile() is not self.profile:
            _setprofile(self.profile)
        if _getrecursionlimit() != self.recursion:
            _setrecursionlimit(self.recursion)
        if _getswitchinterval() != self.switch:
            _setswitchinterval(self.switch)
        if self.digits is not None and _get_digits() != self.digits:
            _set_digits(self.digits)
        if (_gc_isenabled(), _gc_get_threshold()) != self.gc:
            _gc_enable()
            _gc_set_threshold(*self.gc[1])
        if _gc_freeze_count and _gc_freeze_count() != self.frozen:
            _gc_unfreeze()
        if _setlocale(_locale.LC_ALL) != self.locale:
            _setlocale(_locale.LC_ALL, self.locale)
        filters = self.filters
        if filters is not None and (
            len(filters) != len(self.filters_copy) or not all(map(is_, filters, self.filters_copy))
        ):
            filters[:] = self.filters_copy
            _filters_mutated()

    def _restore_time_zone(self):
        """A script that called time.tzset() (or a request whose TZ differs) changed the C
        library's zone, which outlives its time module attributes: re-read the runner's own.
        """
        if not (self.tz_set or any_differs(time, _TZ_NAMES, self.tz)):
            return
        current = _environ.get("TZ")
        if current != self.tz_env:
            _set_env("TZ", self.tz_env)
        _tzset()
        if current != self.tz_env:
            _set_env("TZ", current)
        for name, value in zip(_TZ_NAMES, self.tz):
            setattr(time, name, value)  # the same values, the baseline's objects
        self.tz_set = False


def any_differs(module, names, values):
    for name, value in zip(names, values):
        if getattr(module, name, None) is not value:
            return True
    return False


def _set_env(name, value):
    if value is None:
        _environ.pop(name, None)
    else:
        _environ[name] = value


def _same_items(current, saved):
    for key, value in saved.items():
        if current.get(key) is not value:
            return False
    return True


def _filters_mutated():
    warnings = _modules.get("_warnings")
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()


_random_base = None


def reseed_random():
    """Seeds the random module's shared generator from os.urandom, as a fresh process does,
    so a script's random.seed(42) is not the next request's sequence. The C method is called
    on the instance, so a subclass or patch of the module cannot intercept it.
    """
    global _random_base
    random = _modules.get("random")
    inst = getattr(random, "_inst", None) if random is not None else None
    if inst is None:
        return
    if _random_base is None:
        _random_base = _modules["_random"].Random
    if isinstance(inst, _random_base):
        _random_base.seed(inst, _from_bytes(_urandom(32), "big"))
