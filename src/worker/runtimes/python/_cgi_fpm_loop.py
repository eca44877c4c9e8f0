"""The python worker's event loop.

This file implements, from the perspective of the worker's one thread, waiting for whatever
comes next: a descriptor readable or writable (the channel, the IPC socket, a script's pipes, a
runner's frames), a timer due (request_terminate_timeout, a kill grace), a child exited
(SIGCHLD through the wakeup descriptor). One poll(2) per turn; hooks run before each poll (the
channel writes what the turn produced in one writev). No timer runs while nothing is pending.
Stdlib only (select.poll; asyncio would cost the worker megabytes and microseconds).
"""

import _signal
import heapq
import os
import select
import time

_IN = select.POLLIN | select.POLLHUP | select.POLLERR | select.POLLNVAL
_OUT = select.POLLOUT | select.POLLERR | select.POLLHUP | select.POLLNVAL
_monotonic = time.monotonic


class Timer:
    """A pending call; `cancel()` drops it."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when, callback):
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def __lt__(self, other):
        return self.when < other.when


class Loop:
    """Callbacks for readable and writable descriptors, timers and hooks run before each poll."""

    def __init__(self):
        self._poll = select.poll()
        self._readers = {}
        self._writers = {}
        self._timers = []
        self._hooks = []
        self.stopped = False

    def add_reader(self, fd, callback):
        self._readers[fd] = callback
        self._update(fd)

    def remove_reader(self, fd):
        if self._readers.pop(fd, None) is not None:
            self._update(fd)

    def add_writer(self, fd, callback):
        self._writers[fd] = callback
        self._update(fd)

    def remove_writer(self, fd):
        if self._writers.pop(fd, None) is not None:
            self._update(fd)

    def forget(self, fd):
        """Stops watching `fd` (call before closing it)."""
        self._readers.pop(fd, None)
        self._writers.pop(fd, None)
        self._update(fd)

    def _update(self, fd):
        mask = (select.POLLIN if fd in self._readers else 0) | (select.POLLOUT if fd in self._writers else 0)
        if mask:
            self._poll.register(fd, mask)
        else:
            try:
                self._poll.unregister(fd)
            except KeyError:
                pass

    def call_later(self, seconds, callback):
        timer = Timer(_monotonic() + seconds, callback)
        heapq.heappush(self._timers, timer)
        return timer

    def before_poll(self, hook):
        """Runs `hook()` before each poll (after every turn's callbacks)."""
        self._hooks.append(hook)

    def drop_hook(self, hook):
        """Stops running `hook` (a closed connection's flush)."""
        if hook in self._hooks:
            self._hooks.remove(hook)

    def run(self):
        """Runs until `stop()`."""
        while not self.stopped:
            self.run_once()

    def run_once(self):
        """One turn: the hooks, one poll, the callbacks it made due."""
        timers = self._timers
        for hook in tuple(self._hooks):
            hook()
        while timers and timers[0].cancelled:
            heapq.heappop(timers)
        timeout = None
        if timers:
            timeout = max(0, int((timers[0].when - _monotonic()) * 1000) + 1)
        for fd, mask in self._poll.poll(timeout):
            if mask & select.POLLNVAL:
                self.forget(fd)
                continue
            if mask & _IN:
                callback = self._readers.get(fd)
                if callback is not None:
                    callback()
            if mask & _OUT:
                callback = self._writers.get(fd)
                if callback is not None:
                    callback()
        now = _monotonic()
        while timers and (timers[0].cancelled or timers[0].when <= now):
            timer = heapq.heappop(timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    def stop(self):
        self.stopped = True


class ChildWatcher:
    """Exits of the worker's children: SIGCHLD writes to a wakeup pipe the loop reads, then
    each watched pid is reaped (waitpid WNOHANG). `watch(pid, callback)` calls
    `callback(exit_code, signal_number)` once the child is gone."""

    def __init__(self, loop):
        self._loop = loop
        self._children = {}
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._read_fd = read_fd
        _signal.set_wakeup_fd(write_fd)
        _signal.signal(_signal.SIGCHLD, _noop)
        loop.add_reader(read_fd, self._woken)

    def watch(self, pid, callback):
        self._children[pid] = callback
        self._reap(pid)

    def _woken(self):
        try:
            while os.read(self._read_fd, 512):
                pass
        except BlockingIOError:
            pass
        for pid in list(self._children):
            self._reap(pid)

    def _reap(self, pid):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 0
        if done == 0:
            return
        callback = self._children.pop(pid, None)
        if callback is None:
            return
        if os.WIFSIGNALED(status):
            callback(None, os.WTERMSIG(status))
        else:
            callback(os.WEXITSTATUS(status), None)


def _noop(_number, _frame):
    """SIGCHLD's handler: the wakeup descriptor does the work (SIG_DFL would not write it)."""
