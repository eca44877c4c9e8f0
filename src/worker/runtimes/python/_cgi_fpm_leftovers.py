"""What a request leaves behind that the persistent runner cannot cheaply undo.

This file implements, from the perspective of the persistent runner at the end of a request,
the checks whose failure makes the runner recycle itself (exit after the request; its worker
starts a fresh interpreter for the next one): threads still running, child processes still
running, file descriptors of the runner closed or replaced, descriptors left open (only when
both state policies are reset: kept modules and globals may own files), and the process's
identity (user, group, session, process group) or priority changed. Each failed check is a
reason, logged by the worker. Stdlib only; every function is captured at import.
"""

import _thread
import gc
import os
from builtins import ChildProcessError, OSError, frozenset, int, len, sorted, tuple

_count_threads = _thread._count
_waitpid = os.waitpid
_WNOHANG = os.WNOHANG
_listdir = os.listdir
_fstat = os.fstat
_stat = os.stat
_get_inheritable = os.get_inheritable
_getresuid = os.getresuid
_getresgid = os.getresgid
_getpriority = os.getpriority
_setpriority = os.setpriority
_PRIO_PROCESS = os.PRIO_PROCESS
_collect = gc.collect
_FD_DIR = "/proc/self/fd"


def _identity():
    """Who the process is. Only root can change its ids (a non-root process can only swap
    among the ids it has: all the same here); its session and process group it cannot change
    at all (the runner leads its own session)."""
    return (_getresuid(), _getresgid())


def _open_now():
    """The descriptors open now (the one listdir opened on /proc/self/fd, closed again by
    then, is not)."""
    found = []
    for name in _listdir(_FD_DIR):
        fd = int(name)
        try:
            _get_inheritable(fd)
        except OSError:
            continue
        found.append(fd)
    return frozenset(found)


def _fd_count():
    """How many descriptors are open: /proc/self/fd's st_size (Linux >= 6.2; 0 before)."""
    try:
        return _stat(_FD_DIR).st_size
    except OSError:
        return 0


def _fd_identity(fd):
    try:
        stat = _fstat(fd)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


class Leftovers:
    """The runner's own threads, descriptors and identity, captured before any script ran.
    `own_fds` are the descriptors the runner relies on (0-4); `check_open_fds` turns on the
    check for descriptors a request left open.
    """

    def __init__(self, own_fds, check_open_fds):
        self.threads = _count_threads()
        self.own = tuple((fd, _fd_identity(fd)) for fd in own_fds)
        self.check_open = check_open_fds
        self.fds = _open_now() if check_open_fds else frozenset()
        # The baseline's descriptors that are not the runner's own, and how many /proc says
        # are open (its st_size, Linux >= 6.2; 0 before, which never matches).
        self.others = tuple(sorted(self.fds - frozenset(fd for fd, _ in self.own)))
        self.count = len(self.fds) if check_open_fds and _fd_count() == len(self.fds) else -1
        self.identity = _identity()
        self.root = 0 in self.identity[0]
        self.priority = _getpriority(_PRIO_PROCESS, 0)

    def threads_left(self):
        """The reason to recycle when a request's thread still runs (checked first: while one
        runs, nothing else is worth putting back)."""
        count = _count_threads() - self.threads
        if count > 0:
            return "%d thread(s) the script started still running" % count
        return None

    def reasons(self):
        """Why the runner cannot serve another request (empty: it can)."""
        found = []
        if self._children_left():
            found.append("a child process the script started still running")
        own_open = True
        for fd, identity in self.own:
            if _fd_identity(fd) != identity:
                own_open = False
                found.append("the runner's file descriptor %d was closed or replaced" % fd)
        if self.check_open and not (own_open and self._only_baseline_open()):
            extra = self._open_fds()
            if extra:
                found.append("file descriptor(s) %s left open" % ", ".join(extra))
        if self.root and _identity() != self.identity:
            found.append("user or group changed")
        if _getpriority(_PRIO_PROCESS, 0) != self.priority:
            try:
                _setpriority(_PRIO_PROCESS, 0, self.priority)
            except OSError:
                found.append("priority lowered (nice)")
        return found

    @staticmethod
    def _children_left():
        """Reaps the script's children that ended; True if one still runs."""
        while True:
            try:
                pid, _ = _waitpid(-1, _WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True

    def _only_baseline_open(self):
        """True when exactly the descriptors open before any script ran are open: as many
        as then (/proc/self/fd's st_size), and each of them open (the runner's own were just
        checked). One stat where listing /proc/self/fd costs five system calls and ~15 us."""
        if self.count < 0 or _fd_count() != self.count:
            return False
        for fd in self.others:
            try:
                _get_inheritable(fd)  # open? (fcntl: no stat object to build)
            except OSError:
                return False
        return True

    def _open_fds(self):
        """Descriptors a request opened and did not close, once its garbage is collected (a
        file object in a reference cycle closes only then)."""
        extra = _open_now() - self.fds
        if extra:
            _collect()
            extra = _open_now() - self.fds
        return ["%d" % fd for fd in sorted(extra)]
