"""isolation = "fork": every request in a fresh fork of the warm runner.

This file implements the fork isolation of the python runtime from the perspective of the
runner process (the parent): it never runs script code. It keeps one child forked ahead, with
three pipes as its fds 0, 1 and 2 and a fourth it waits on for its request; for each request
it hands the head to that child and relays: body frames from the worker into the child's
stdin, the child's stdout and stderr out as frames, then the exit status; then it compiles the
script (compiling runs nothing) and forks the next child. The child makes itself a fresh CGI process (_child) and ends
as python3 would. The request ends, as with the exec runtime, when the child exited and its
stdout reached end of file; stderr gets a short grace after that. Stdlib only.
"""

import errno
import os
import select
import time
from builtins import (
    BaseException,
    BlockingIOError,
    BrokenPipeError,
    OSError,
    bytearray,
    dict,
    dir,
    getattr,
    int,
    len,
    max,
)

from _cgi_fpm_channel import ChannelClosed, FrameDecoder, done_payload, parse_head, read_available

_POLLIN = select.POLLIN | select.POLLHUP | select.POLLERR
_POLLOUT = select.POLLOUT | select.POLLERR
# Body bytes held for a child that reads slowly before the channel is read again.
MAX_PENDING_BODY = 256 * 1024
# How long stderr may stay open after the child exited and its stdout ended, in ms.
STDERR_GRACE_MS = 100
# Without pidfd (python < 3.9, Linux < 5.3) the child's exit is polled this often, in ms.
EXIT_POLL_MS = 20


class ForkServer:
    """Serves requests in forked children, one spare child forked ahead (USAP-style: the fork
    and the child's own setup happen while the runner waits for the next request, off its
    path). `child.start(go_fd, max_fd)` runs in each child and never returns
    (see _cgi_fpm_child)."""

    def __init__(self, channel, cache, child):
        self.channel = channel
        self.cache = cache
        self.child = child
        self.decoder = FrameDecoder()
        self.pending = []  # frames read past the current request head
        self.spare = None

    def serve_forever(self):
        self.spare = self._fork()
        while True:
            try:
                head = self._next_head()
            except ChannelClosed:
                return
            script = parse_head(head)[0]
            status, signal_name = self._serve(head)
            self.channel.send(b"D", done_payload(status, signal_name, (), 0))
            # The next child inherits this script compiled (compiling runs no script code).
            try:
                self.cache.get(script)
            except BaseException:
                pass  # the child compiles it again and reports the error as python would
            self.spare = self._fork()

    def _next_head(self):
        while True:
            while self.pending:
                kind, payload = self.pending.pop(0)
                if kind == b"R":
                    return payload
            data = read_available(self.channel.in_fd)
            if not data:
                raise ChannelClosed("end of input")
            self.pending.extend(self.decoder.feed(data))

    def _fork(self):
        """Forks a child that waits for its request; returns its end of things."""
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(stdin_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            self.child.start(go_r, max(stdin_w, out_w, err_w, go_w))
            os._exit(70)  # not reached: the child ends itself
        for fd in (stdin_r, out_w, err_w, go_r):
            os.close(fd)
        return _Spare(pid, stdin_w, out_r, err_r, go_w)

    def _serve(self, head):
        spare, self.spare = self.spare, None
        if spare is None or not spare.give(head):
            if spare is not None:
                spare.discard()
            spare = self._fork()
            if not spare.give(head):
                spare.discard()
                raise ChannelClosed("a forked child died before its request")
        relay = _Relay(self, spare)
        try:
            return relay.run()
        finally:
            relay.close()


class _Spare:
    """A forked child waiting for its request: its pid, pipes and go pipe."""

    def __init__(self, pid, stdin_w, out_r, err_r, go_w):
        self.pid = pid
        self.stdin_w = stdin_w
        self.out_r = out_r
        self.err_r = err_r
        self.go_w = go_w

    def give(self, head):
        """Hands the request head over; False when the child is gone (killed while waiting)."""
        message = len(head).to_bytes(4, "big") + head
        try:
            while message:
                message = message[os.write(self.go_w, message) :]
        except OSError:
            return False
        finally:
            os.close(self.go_w)
        return True

    def discard(self):
        for fd in (self.stdin_w, self.out_r, self.err_r):
            os.close(fd)
        _kill_and_reap(self.pid)


class _Relay:
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
            _kill_and_reap(self.pid)


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


def _kill_and_reap(pid):
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

