"""Interpreter-wide settings the persistent runner cannot read back cheaply.

This file implements, from the perspective of the persistent runner, the state whose setters
are wrapped to note that a request used them, so that putting it back costs nothing when no
request did: signal handlers (asking each of the 62 signals after every request costs ~60 us),
timers and the signal mask (a system call apiece), codec search functions (the registry is the
interpreter's own and cannot be listed). The C module _signal is wrapped rather than signal:
that one imports enum (every module loaded before the first request is one more the runner
checks after each), and copies _signal's functions when a script imports it. Stdlib only;
every function and builtin is captured at import.
"""

import _signal as signal
import sys
from builtins import getattr, int, list, set, setattr, staticmethod, tuple

_modules = sys.modules
_getsignal = signal.getsignal
_set_wakeup_fd = signal.set_wakeup_fd
# Every signal a script may set a handler for (SIGKILL and SIGSTOP cannot be caught).
_SIGNALS = tuple(
    number
    for number in signal.valid_signals()
    if number not in (signal.SIGKILL, signal.SIGSTOP) and number < signal.NSIG
)
_TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)

# Signals whose handler a request set (signal.signal calls _signal.signal).
_c_signal = signal.signal
_set_signals = []


def _noting_signal(signalnum, handler):
    previous = _c_signal(signalnum, handler)
    _set_signals.append(signalnum)
    return previous


_noting_signal.__name__ = _noting_signal.__qualname__ = "signal"
_noting_signal.__doc__ = _c_signal.__doc__
_noting_signal.__module__ = "_signal"

# Whether a request used the timers or the signal mask.
_c_setitimer = signal.setitimer
_c_alarm = signal.alarm
_c_sigmask = signal.pthread_sigmask
_used = []


def _noting(function, name):
    def noting(*args):
        _used.append(name)
        return function(*args)

    noting.__name__ = noting.__qualname__ = name
    noting.__doc__ = function.__doc__
    noting.__module__ = "_signal"
    return noting


_WRAPPERS = {
    "signal": _noting_signal,
    "setitimer": _noting(_c_setitimer, "setitimer"),
    "alarm": _noting(_c_alarm, "alarm"),
    "pthread_sigmask": _noting(_c_sigmask, "pthread_sigmask"),
}

# Codec search functions a request registered: undone with codecs.unregister (python >= 3.10);
# before that the runner recycles itself.
_codecs = sys.modules["_codecs"]
_c_register = _codecs.register
_c_unregister = getattr(_codecs, "unregister", None)
_registered = []


def _noting_register(search_function):
    _c_register(search_function)
    _registered.append(search_function)


_noting_register.__name__ = _noting_register.__qualname__ = "register"
_noting_register.__doc__ = _c_register.__doc__
_noting_register.__module__ = "_codecs"


class Noted:
    """Wraps the setters (once per process) and puts back what a request set through them."""

    def __init__(self):
        self.signals = {int(number): _getsignal(number) for number in _SIGNALS}
        # `signal` copies _signal's functions when it is imported: wrap both.
        for module in (signal, _modules.get("signal")):
            for name, wrapper in _WRAPPERS.items():
                if module is not None and getattr(module, name, None) in (wrapper, _c_of(name)):
                    setattr(module, name, wrapper)
        _codecs.register = _noting_register
        codecs = _modules.get("codecs")
        if codecs is not None and getattr(codecs, "register", None) is _c_register:
            codecs.register = _noting_register

    def restore(self):
        """Puts back handlers, timers, the mask and codec registrations a request set; returns
        the reason to recycle when one cannot be undone."""
        self._restore_signals()
        return self._restore_codecs()

    def _restore_signals(self):
        if _used:
            del _used[:]
            for timer in _TIMERS:
                _c_setitimer(timer, 0)  # ITIMER_REAL also cancels signal.alarm()
            if _c_sigmask(signal.SIG_BLOCK, ()):
                _c_sigmask(signal.SIG_SETMASK, ())
        if _set_signals:
            numbers = set(_set_signals)
            del _set_signals[:]
            for number in numbers:
                handler = self.signals.get(int(number))
                if handler is not None and _getsignal(number) is not handler:
                    _c_signal(number, handler)
        _set_wakeup_fd(-1)

    @staticmethod
    def _restore_codecs():
        """Unregisters the codec search functions a request registered; returns the reason to
        recycle when that cannot be done."""
        if not _registered:
            return []
        functions = list(_registered)
        del _registered[:]
        if _c_unregister is None:
            return ["a codec search function was registered (python < 3.10 cannot unregister it)"]
        for function in functions:
            _c_unregister(function)
        return []


def _c_of(name):
    """The C function `name` of _signal, as it was before it was wrapped."""
    originals = {
        "signal": _c_signal,
        "setitimer": _c_setitimer,
        "alarm": _c_alarm,
        "pthread_sigmask": _c_sigmask,
    }
    return originals[name]
