"""One forked child's life: a fresh CGI process for one request, then exit.

This file implements, from the perspective of a child the fork isolation's parent just forked
(its fds 0, 1 and 2 already the request's pipes), what makes it indistinguishable from
`python script` started by a web server: every other inherited descriptor closed, the signal
handlers, mask and timers python starts with, the random generators reseeded (os.fork already
ran the os.register_at_fork hooks), the request's environment, cwd, argv and streams; then the
script, and an end as python3's own: non-daemon threads joined, atexit callbacks, the script's
namespace released and collected (open files flushed and closed), streams flushed, exit status.
Stdlib only.
"""

import _signal as signal
import atexit
import gc
import io
import os
import sys
from builtins import BaseException, bool, getattr, int, len, max

from _cgi_fpm_channel import parse_head
from _cgi_fpm_script import Namespaces, flush_streams
from _cgi_fpm_state import install, reseed_random
from _cgi_fpm_stdio import RequestStdio, fd_sink

_FD_DIR = "/proc/self/fd"
# The runner's own streams on fds 1 and 2: a module preloaded in the runner may have kept them
# (Mercurial's procutil wraps sys.stdout.buffer at import); in a child those fds are the
# request's, so what such a module wrote is part of the response and is flushed at exit.
_RUNNER_STREAMS = (sys.stdout, sys.stderr)
# Exit status of a child whose own setup failed (EX_SOFTWARE).
SETUP_FAILED = 70


class Child:
    """The life of each forked child (`start`), which never returns (os._exit)."""

    def __init__(self, script_run, signals, unbuffered, cache):
        self.script_run = script_run
        self.unbuffered = unbuffered
        self.cache = cache  # the parent's compiled scripts, as they were at the fork
        # The parent never runs script code, so what differs from python's start is known now
        # (a preloaded module's doing) and each child puts back only that: every signal asked
        # again in each child touches memory, and in a child every page touched is copied.
        self.signals = [
            (number, handler)
            for number, handler in signals
            if handler is not None and signal.getsignal(number) is not handler
        ]
        self.masked = bool(signal.pthread_sigmask(signal.SIG_BLOCK, ()))
        self.max_fd = max(int(name) for name in os.listdir(_FD_DIR))

    def start(self, go_fd, max_fd):
        """Runs in a child just forked with the request's pipes as fds 0, 1 and 2: gets ready
        (descriptors, signals, random, streams), then waits for the request head on `go_fd`
        (the parent may fork it before the request arrives), runs the request and exits.
        `max_fd` is the highest descriptor the parent had open when it forked."""
        status = SETUP_FAILED
        try:
            os.dup2(go_fd, 3)
            os.closerange(4, max(max_fd, self.max_fd) + 1)
            self._reset_signals()
            _reseed()
            stdio = RequestStdio(
                io.FileIO(0, "rb", closefd=False), fd_sink(1), fd_sink(2), self.unbuffered
            )
            head = _read_head(3)
            os.close(3)
            if head is None:
                status = 0  # no request came: the parent stopped, or dropped this spare
                return
            script, cwd, env = parse_head(head)
            install(env, script, cwd, stdio)
            namespaces = Namespaces(False)
            mains = []

            def main_for(changed):
                mains.append(namespaces.main_for(script, changed))
                return mains[-1]

            status = self.script_run.run(lambda: self.cache.get(script), main_for, stdio)
            _exit_like_python(stdio, mains)
        except BaseException:
            _report()
        finally:
            os._exit(status)

    def _reset_signals(self):
        """Python's own handlers where a preloaded module changed one, and no blocked signal.
        (No timer or wakeup descriptor: the parent never sets one.)"""
        for number, handler in self.signals:
            signal.signal(number, handler)
        if self.masked:
            signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _read_head(fd):
    """The request head the parent writes (4-byte length, then the R frame's payload), or
    None at end of file."""
    data = b""
    while True:
        piece = os.read(fd, 65536)
        if not piece:
            return None
        data += piece
        if len(data) >= 4 and len(data) >= 4 + int.from_bytes(data[:4], "big"):
            return data[4 : 4 + int.from_bytes(data[:4], "big")]


def _reseed():
    """Every generator a fork would otherwise share: random's (its at-fork hook does it too,
    unless a preloaded module removed it) and numpy's legacy global one when loaded."""
    reseed_random()
    numpy_random = sys.modules.get("numpy.random")
    seed = getattr(numpy_random, "seed", None)
    if seed is not None:
        seed()


def _exit_like_python(stdio, mains):
    """What python3 does when a script ends: wait for non-daemon threads, run the atexit
    callbacks, release the namespace (finalizers close and flush files), flush the streams.
    Module teardown is skipped, as with os._exit after atexit."""
    threading = sys.modules.get("threading")
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        try:
            shutdown()
        except BaseException:
            _report()
    atexit._run_exitfuncs()
    for main in mains:
        main.__dict__.clear()
    gc.collect()
    flush_streams()
    stdio.close()
    for stream in _RUNNER_STREAMS:
        try:
            stream.flush()
        except BaseException:
            pass


def _report():
    """The child's own failure, on its stderr (the log), as python would print it."""
    try:
        import traceback

        os.write(2, "".join(traceback.format_exception(*sys.exc_info())).encode("utf-8", "replace"))
    except BaseException:
        pass

