"""The channel to the cgi-fpm worker, and a request's standard streams built on it.

This file implements the runner's side of the worker <-> runner framing (frames.ts is the
worker's side) and, from the perspective of a CGI script, the sys.stdin / sys.stdout /
sys.stderr of one request: the body read as it streams in, the response and the log written
as frames. Stdlib only.

A frame is 1 type byte, a 4-byte big-endian payload length, then the payload.
  worker -> runner (fd 3): R request head (JSON), I body bytes, E end of body
  runner -> worker (fd 4): H hello (JSON), O stdout bytes, X stderr bytes, D done (JSON)
"""

import io
import json
import os
import struct
import threading

HEADER = struct.Struct(">cI")
# Largest payload written in one frame; bigger writes are cut (the worker streams them on).
MAX_PAYLOAD = 256 * 1024
# Buffer sizes of the request streams, in bytes.
STDIN_BUFFER = 64 * 1024
STDOUT_BUFFER = 64 * 1024
STDERR_BUFFER = 8 * 1024


class ChannelClosed(Exception):
    """The worker closed its end (or sent garbage): the runner has nothing left to do."""


class Channel:
    """Frames over two inherited descriptors: `in_fd` from the worker, `out_fd` to it."""

    def __init__(self, in_fd, out_fd):
        for fd in (in_fd, out_fd):
            # A script's children must never hold the channel open, and writes must block
            # (the worker applies backpressure by not reading).
            os.set_inheritable(fd, False)
            os.set_blocking(fd, True)
        self._in = open(in_fd, "rb", buffering=STDIN_BUFFER)
        self._out = out_fd
        # Scripts may write from threads: one frame at a time.
        self._lock = threading.Lock()

    # -- reading (only the main thread reads) -------------------------------------------

    def read_header(self):
        """Returns the next frame's (type, payload length)."""
        data = self._in.read(HEADER.size)
        if len(data) < HEADER.size:
            raise ChannelClosed("end of input")
        return HEADER.unpack(data)

    def read_into(self, view):
        """Fills `view` (a writable memoryview) with payload bytes."""
        if self._in.readinto(view) < len(view):
            raise ChannelClosed("end of input inside a frame")

    def skip(self, length):
        """Discards `length` payload bytes."""
        while length > 0:
            data = self._in.read(min(length, STDIN_BUFFER))
            if not data:
                raise ChannelClosed("end of input inside a frame")
            length -= len(data)

    def next_request(self):
        """Returns the next request head, skipping what is left of the previous body."""
        while True:
            kind, length = self.read_header()
            if kind == b"R":
                payload = bytearray(length)
                self.read_into(memoryview(payload))
                return json.loads(payload.decode("utf-8"))
            if kind not in (b"I", b"E"):
                raise ChannelClosed("unexpected frame %r between requests" % kind)
            self.skip(length)

    # -- writing (any thread) -----------------------------------------------------------

    def send(self, kind, payload=b""):
        """Writes `payload` as frames of type `kind` (one empty frame when it is empty)."""
        view = memoryview(payload).cast("B")
        with self._lock:
            if len(view) == 0:
                self._write_all(memoryview(HEADER.pack(kind, 0)))
                return
            for start in range(0, len(view), MAX_PAYLOAD):
                piece = view[start : start + MAX_PAYLOAD]
                header = HEADER.pack(kind, len(piece))
                written = os.writev(self._out, [header, piece])
                if written < len(header) + len(piece):
                    self._write_all(memoryview(header + bytes(piece))[written:])

    def send_json(self, kind, value):
        self.send(kind, json.dumps(value).encode("utf-8"))

    def _write_all(self, view):
        while len(view) > 0:
            view = view[os.write(self._out, view) :]


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


class FrameWriter(io.RawIOBase):
    """Raw layer of sys.stdout.buffer / sys.stderr.buffer: each write becomes frames."""

    def __init__(self, channel, kind):
        super().__init__()
        self._channel = channel
        self._kind = kind
        self.sent = 0  # bytes handed to the worker
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
        self._channel.send(self._kind, data)
        self.sent += size
        return size


class RequestStdio:
    """The three standard streams of one request. Closed when it ends, so a thread that
    outlives the request gets 'I/O operation on closed file' instead of writing into the next.
    """

    def __init__(self, channel):
        self.body = BodyReader(channel)
        self._out_raw = FrameWriter(channel, b"O")
        self._err_raw = FrameWriter(channel, b"X")
        self._in_buffer = io.BufferedReader(self.body, STDIN_BUFFER)
        self._out_buffer = io.BufferedWriter(self._out_raw, STDOUT_BUFFER)
        self._err_buffer = io.BufferedWriter(self._err_raw, STDERR_BUFFER)
        # What python3 gives a CGI script under a C/UTF-8 locale. write_through keeps print()
        # and sys.stdout.buffer.write() in order without the script flushing in between.
        self.stdin = io.TextIOWrapper(self._in_buffer, "utf-8", "surrogateescape")
        self.stdout = io.TextIOWrapper(self._out_buffer, "utf-8", "surrogateescape", write_through=True)
        self.stderr = io.TextIOWrapper(
            self._err_buffer, "utf-8", "backslashreplace", line_buffering=True, write_through=True
        )

    def output_sent(self):
        """True once response bytes went to the worker (a 500 can no longer replace them)."""
        return self._out_raw.sent > 0

    def flush_output(self):
        """Pushes buffered response bytes to the worker."""
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
        """Writes text to the log (stderr frames), even if the script closed sys.stderr."""
        if not self._err_buffer.closed:
            self._err_buffer.write(text.encode("utf-8", "backslashreplace"))
            self._err_buffer.flush()

    def close(self):
        """Flushes and closes the streams (their wrappers then refuse reads and writes)."""
        for stream in (self._out_buffer, self._err_buffer, self._in_buffer):
            try:
                stream.close()
            except ValueError:
                pass  # already closed by the script, or detached
