"""isolation = "fork": every request in a fresh fork of the warm runner.

This file implements the fork isolation of the python runtime from the perspective of the
runner process (the parent): it never runs script code. It keeps one child forked ahead, with
three pipes as its fds 0, 1 and 2 and a fourth it waits on for its request; for each request
it hands the head to that child and relays its traffic (_cgi_fpm_relay), then sends the exit
status; then it compiles the script (compiling runs nothing) and forks the next child. The
child makes itself a fresh CGI process and ends as python3 would (_cgi_fpm_child).
Stdlib only.
"""

import os
from builtins import BaseException, OSError, len, max

from _cgi_fpm_channel import ChannelClosed, FrameDecoder, done_payload, parse_head, read_available
from _cgi_fpm_relay import Relay, kill_and_reap


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
        relay = Relay(self, spare)
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
        kill_and_reap(self.pid)
