"""The output half of an `exec` pool's request in the python worker: the script's stdout and
stderr.

This file implements, from the perspective of the python worker reading a CGI script's pipes
(mixed into _cgi_fpm_exec.py's ExecRequest), what exec-streams.ts and cgi-output.ts do for the
Node worker: stdout through the CGI head check into FCGI_STDOUT records, with backpressure (the
pipe stops being read while the channel is full) and a short hold so that a short script's
whole response leaves with its END_REQUEST in one write; stderr logged by line (forwarded with
`stderr = "forward"`), drained at the end; output read and dropped once nothing may be sent
(an error, an abort, the end), so the script never blocks on a full pipe. Stdlib only.
"""

import os

from _cgi_fpm_fcgi import FCGI_STDERR, FCGI_STDOUT, stream
from _cgi_fpm_head import HeadStep
from _cgi_fpm_log import text as _text

# Bytes per read of the script's stdout and stderr (under glibc's mmap threshold).
READ_BYTES = 64 * 1024
# Output waits up to this long (or until COALESCE_BYTES are held) before it is written, so that
# a short script's whole response leaves with its END_REQUEST in one write: the reader (the
# supervisor, or nginx for a direct pool) wakes once instead of twice, which costs 0.3-0.8 ms of
# CPU on a virtual machine. A full hold or the end of the request writes it at once.
COALESCE_SECONDS = 0.01
COALESCE_BYTES = 64 * 1024


class ExecOutput(HeadStep):
    """ExecRequest's output half."""

    def _stdout_readable(self):
        piece = _read(self.stdout_fd)
        if piece is None:
            return
        if not piece:
            self.stdout_fd = _closed(self.server.loop, self.stdout_fd)
            return self._maybe_done()
        if self.output_error is not None or self.aborted or self.over:
            return  # read and dropped: the script must never block on a full pipe
        if self.head is None:
            taken = self._take_head(piece)
            if taken is None:
                return
            encoded, rest = taken
            self._write_stdout(encoded)
            piece = bytes(rest)
        self._write_stdout(piece)

    def _write_stdout(self, data):
        if not data:
            return
        self.bytes += len(data)
        self.held.extend(stream(FCGI_STDOUT, self.request_id, data))
        self.held_bytes += len(data)
        if self.held_bytes >= COALESCE_BYTES:
            self._release()
        elif self.release_timer is None:
            self.release_timer = self.server.loop.call_later(COALESCE_SECONDS, self._release)

    def take_held(self):
        """The output records not written yet (the hold ends): for the request's last write."""
        if self.release_timer is not None:
            self.release_timer.cancel()
            self.release_timer = None
        held, self.held, self.held_bytes = self.held, [], 0
        return held

    def _release(self):
        held = self.take_held()
        if not held:
            return
        connection = self.server.connection
        connection.write(held)
        if connection.full and self.stdout_fd >= 0:
            self.server.loop.remove_reader(self.stdout_fd)
            connection.when_drained(self._resume_stdout)

    def _resume_stdout(self):
        if self.stdout_fd >= 0:
            self.server.loop.add_reader(self.stdout_fd, self._stdout_readable)

    def _stderr_readable(self):
        piece = _read(self.stderr_fd)
        if piece is None:
            return
        if piece:
            self.lines.push(piece)
            return
        self._close_stderr()
        if self.ending:
            # The script exited and its stdout ended first: the request waited for this end of
            # file, not for the grace (a 100 ms wait whenever stderr's came a poll later).
            if self.stderr_timer is not None:
                self.stderr_timer.cancel()
            self._finish()

    def _drain_stderr(self):
        """Reads what the script left in its stderr pipe (a loaded machine may not have polled
        it yet), up to 1 MiB, without waiting."""
        for _ in range(16):
            if self.stderr_fd < 0:
                return
            piece = _read(self.stderr_fd)
            if piece is None:
                return  # nothing more now
            if not piece:
                return self._close_stderr()
            self.lines.push(piece)

    def _close_stderr(self):
        if self.stderr_fd >= 0:
            self.stderr_fd = _closed(self.server.loop, self.stderr_fd)
            self.lines.end()

    def _line(self, line):
        server = self.server
        server.log.warn({"script": _text(self.script), "line": line}, "cgi stderr")
        if server.forward_stderr and not self.aborted and not self.over:
            self.stderr_used = True
            server.connection.write(stream(FCGI_STDERR, self.request_id, line.encode("utf-8") + b"\n"))


def _read(fd):
    """A piece of a pipe: None when nothing is there now, b"" at its end (or a read error)."""
    try:
        return os.read(fd, READ_BYTES)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _closed(loop, fd):
    loop.forget(fd)
    os.close(fd)
    return -1
