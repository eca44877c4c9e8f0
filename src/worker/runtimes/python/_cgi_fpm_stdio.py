"""A request's standard streams.

This file implements, from the perspective of a CGI script, the sys.stdin / sys.stdout /
sys.stderr of one request: the body read as it streams in, the response and the log written
as they are produced. Where the bytes go is the caller's choice: frames on the channel to the
worker (the persistent runner) or the process's own fds 0, 1 and 2 (a forked child). Stdlib
only; builtins bound here so a script's patches to builtins cannot reach these streams.
"""

import io
import os
from builtins import OSError, ValueError, bytearray, bytes, len, memoryview, super

from _cgi_fpm_channel import ChannelClosed

# Buffer sizes of the request streams, in bytes.
STDIN_BUFFER = 64 * 1024
STDOUT_BUFFER = 64 * 1024
STDERR_BUFFER = 8 * 1024

_write = os.write


class BodyReader(io.RawIOBase):
    """Raw layer of sys.stdin.buffer: the request body from I frames, as they arrive."""

    def __init__(self, channel):
        super().__init__()
        self._channel = channel
        self._left = 0  # unread payload bytes of the current I frame
        self._eof = False

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        while self._left == 0:
            if self._eof:
                return 0
            kind, length = self._channel.read_header()
            if kind == b"E":
                self._eof = True
            elif kind == b"I":
                self._left = length
            else:
                raise ChannelClosed("unexpected frame %r in a request body" % kind)
        view = memoryview(buffer).cast("B")[: self._left]
        self._channel.read_into(view)
        self._left -= len(view)
        return len(view)

    def drain(self):
        """Skips the unread rest of the current frame: the channel is at a frame boundary."""
        if self._left:
            self._channel.skip(self._left)
            self._left = 0
        self._eof = True


def frame_sink(channel, kind):
    """A sink writing each piece as frames of `kind` on `channel`."""

    def sink(data):
        channel.send(kind, data)

    return sink


def fd_sink(fd):
    """A sink writing each piece whole to `fd` (a pipe a forked child's parent reads)."""

    def sink(data):
        view = memoryview(data).cast("B")
        while len(view):
            view = view[_write(fd, view) :]

    return sink


class OutputWriter(io.RawIOBase):
    """Raw layer of sys.stdout.buffer / sys.stderr.buffer: each write goes to the sink."""

    def __init__(self, sink):
        super().__init__()
        self._sink = sink
        self.sent = 0  # bytes handed on
        self.discarding = False  # drop writes (the runner answers 500 instead)
        self.captured = None  # a bytearray while writes are held back for a look

    def writable(self):
        return True

    def write(self, data):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        size = memoryview(data).nbytes
        if size == 0 or self.discarding:
            return size
        if self.captured is not None:
            self.captured += data
            return size
        self._sink(data)
        self.sent += size
        return size


class _FlushingWriter(io.BufferedWriter):
    """A buffered writer that flushes every write: `python -u` (PYTHONUNBUFFERED)."""

    def write(self, data):
        size = super().write(data)
        self.flush()
        return size


class RequestStdio:
    """The three standard streams of one request. Closed when it ends, so a thread that
    outlives the request gets 'I/O operation on closed file' instead of writing into the next.

    `body` is the raw readable of the body; `out` and `err` are sinks (`frame_sink`,
    `fd_sink`); `unbuffered` makes every write to stdout reach its sink at once (`-u`).
    """

    def __init__(self, body, out, err, unbuffered=False):
        self.body = body
        self._out_raw = OutputWriter(out)
        self._err_raw = OutputWriter(err)
        writer = _FlushingWriter if unbuffered else io.BufferedWriter
        self._in_buffer = io.BufferedReader(body, STDIN_BUFFER)
        self._out_buffer = writer(self._out_raw, STDOUT_BUFFER)
        self._err_buffer = io.BufferedWriter(self._err_raw, STDERR_BUFFER)
        # What python3 gives a CGI script under a C/UTF-8 locale. write_through keeps print()
        # and sys.stdout.buffer.write() in order without the script flushing in between.
        self.stdin = io.TextIOWrapper(self._in_buffer, "utf-8", "surrogateescape")
        self.stdout = io.TextIOWrapper(
            self._out_buffer, "utf-8", "surrogateescape", write_through=True
        )
        self.stderr = io.TextIOWrapper(
            self._err_buffer, "utf-8", "backslashreplace", line_buffering=True, write_through=True
        )

    def output_sent(self):
        """True once response bytes went out (a 500 can no longer replace them)."""
        return self._out_raw.sent > 0

    def flush_output(self):
        """Pushes buffered response bytes out."""
        if not self._out_buffer.closed:
            self._out_buffer.flush()

    def discard_output(self, flush_script_streams):
        """Drops response bytes not sent yet: what our buffer holds and, through
        `flush_script_streams`, what wrappers the script put around it still hold.
        """
        if self._out_buffer.closed:
            return
        self._out_raw.discarding = True
        try:
            flush_script_streams()
            self._out_buffer.flush()
        finally:
            self._out_raw.discarding = False

    def capture_output(self):
        """Holds back what reaches the response from now on, until `captured_output`."""
        self._out_raw.captured = bytearray()

    def captured_output(self):
        """Ends a capture (flushing into it first) and returns the bytes held back."""
        self.flush_output()
        data = self._out_raw.captured or b""
        self._out_raw.captured = None
        return bytes(data)

    def write_output(self, data):
        """Writes bytes to the response, past whatever the script did to sys.stdout."""
        if not self._out_buffer.closed:
            self._out_buffer.write(data)
            self._out_buffer.flush()

    def log(self, text):
        """Writes text to the log (stderr), even if the script closed sys.stderr."""
        if not self._err_buffer.closed:
            self._err_buffer.write(text.encode("utf-8", "backslashreplace"))
            self._err_buffer.flush()

    def close(self):
        """Flushes and closes the streams (their wrappers then refuse reads and writes)."""
        for stream in (self._out_buffer, self._err_buffer, self._in_buffer):
            try:
                stream.close()
            except (ValueError, OSError):
                pass  # already closed by the script, detached, or its pipe is gone
