"""One request's traffic between the channel and a forked child.

This file implements, from the perspective of the fork isolation's parent while one child
runs one request, the relay on one poll loop: body frames from the worker into the child's
stdin (held while the child reads slowly, up to a bound), the child's stdout and stderr out
as frames, and the child's exit. The request ends, as with the exec runtime, when the child
exited and its stdout reached end of file; stderr gets a short grace after that. Stdlib only.
"""

import errno
import os
import select
import time
from builtins import (
    BlockingIOError,
    BrokenPipeError,
    OSError,
    bytearray,
    dict,
    dir,
    getattr,
    int,
    len,
)

from _cgi_fpm_channel import ChannelClosed, read_available

_POLLIN = select.POLLIN | select.POLLHUP | select.POLLERR
_POLLOUT = select.POLLOUT | select.POLLERR
# Body bytes held for a child that reads slowly before the channel is read again.
MAX_PENDING_BODY = 256 * 1024
# How long stderr may stay open after the child exited and its stdout ended, in ms.
STDERR_GRACE_MS = 100
# Without pidfd (python < 3.9, Linux < 5.3) the child's exit is polled this often, in ms.
EXIT_POLL_MS = 20


class Relay:
    """One request's traffic between the channel and a child, on one poll loop."""

    def __init__(self, server, spare):
        self.server = server
        self.channel = server.channel
        self.pid = spare.pid
        self.stdin = spare.stdin_w
        self.out = spare.out_r
        self.err = spare.err_r
        self.body = bytearray()  # body bytes not yet written to the child
        self.body_ended = False  # the E frame was read
        self.status = None  # (exit status, signal name) once reaped
        self.pidfd = _pidfd(self.pid)
        os.set_blocking(self.stdin, False)

    def run(self):
        """Relays until the child exited and its stdout ended (stderr: a grace period more);
        returns (exit status, signal name)."""
        self._take_frames()
        deadline = None
        while True:
            if self.status is not None and self.out is None:
                if self.err is None:
                    return self.status
                if deadline is None:
                    deadline = time.monotonic() + STDERR_GRACE_MS / 1000
                left_ms = int((deadline - time.monotonic()) * 1000)
                if left_ms <= 0:
                    self._close_err()
                    return self.status
                self._step(left_ms)
            else:
                self._step(None)

    def _step(self, timeout_ms):
        poller = select.poll()
        reading_channel = not self.body_ended and len(self.body) < MAX_PENDING_BODY
        if reading_channel:
            poller.register(self.channel.in_fd, _POLLIN)
        if self.stdin is not None and self.body:
            poller.register(self.stdin, _POLLOUT)
        for fd in (self.out, self.err):
            if fd is not None:
                poller.register(fd, _POLLIN)
        if self.pidfd is not None and self.status is None:
            poller.register(self.pidfd, select.POLLIN)
        timeout = timeout_ms
        if self.pidfd is None and self.status is None:
            timeout = EXIT_POLL_MS
        ready = dict(poller.poll(timeout))
        if self.out is not None and self.out in ready:
            self.out = self._forward(self.out, b"O")
        if self.err is not None and self.err in ready:
            self.err = self._forward(self.err, b"X")
        if reading_channel and self.channel.in_fd in ready:
            data = read_available(self.channel.in_fd)
            if not data:
                raise ChannelClosed("end of input inside a request")
            self.server.pending.extend(self.server.decoder.feed(data))
            self._take_frames()
        if self.stdin is not None and self.body:
            self._feed()
        if self.status is None and (self.pidfd is None or self.pidfd in ready):
            self._reap(block=self.pidfd is not None)

    def _take_frames(self):
        """Moves this request's body frames from the queue into the child's stdin buffer."""
        pending = self.server.pending
        while pending and not self.body_ended:
            kind, payload = pending[0]
            if kind == b"R":
                raise ChannelClosed("a request head inside a request body")
            pending.pop(0)
            if kind == b"E":
                self.body_ended = True
            elif self.stdin is not None:
                self.body += payload
        if self.stdin is not None and not self.body:
            self._feed()

    def _feed(self):
        """Writes what the child's stdin takes; closes it once the body is complete."""
        try:
            while self.body:
                written = os.write(self.stdin, self.body)
                del self.body[:written]
        except BlockingIOError:
            return
        except (BrokenPipeError, OSError):
            self.body.clear()  # the child stopped reading: the rest of the body is dropped
            self._close_stdin()
            return
        if self.body_ended:
            self._close_stdin()

    def _forward(self, fd, kind):
        data = read_available(fd)
        if data:
            self.channel.send(kind, data)
            return fd
        os.close(fd)
        return None

    def _reap(self, block):
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            self.status = (None, _signal_name(number))
        else:
            self.status = (os.WEXITSTATUS(status), None)
        self._close_stdin()

    def _close_stdin(self):
        if self.stdin is not None:
            os.close(self.stdin)
            self.stdin = None

    def _close_err(self):
        if self.err is not None:
            os.close(self.err)
            self.err = None

    def close(self):
        """Closes what is left. Body frames still to come are skipped before the next head
        (the worker sends the end of the body once it has the DONE frame)."""
        self._close_stdin()
        for fd in (self.out, self.err, self.pidfd):
            if fd is not None:
                os.close(fd)
        self.out = self.err = self.pidfd = None
        if self.status is None:
            kill_and_reap(self.pid)


def _pidfd(pid):
    """A descriptor readable once `pid` exits (None without pidfd_open)."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except OSError as error:
        if error.errno in (errno.ENOSYS, errno.EPERM):
            return None
        raise


def kill_and_reap(pid):
    """SIGKILL to `pid`, then reaps it (a child that must not outlive its request)."""
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass


def _signal_name(number):
    import _signal

    for name in dir(_signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(_signal, name) == number:
            if name not in ("SIGIOT", "SIGPOLL", "SIGCLD"):  # aliases of SIGABRT, SIGIO, SIGCHLD
                return name
    return "SIG%d" % number

