"""The channel between the runner and the cgi-fpm worker that started it.

This file implements the runner's side of the worker <-> runner framing (frames.ts is the
worker's side), from the perspective of the runner's loops and of a request's streams: frames
read from fd 3 (blocking, or incrementally for the fork parent's poll loop), frames written to
fd 4 from any thread. It knows nothing about scripts. Stdlib only.

A frame is 1 type byte, a 4-byte big-endian payload length, then the payload.
  worker -> runner (fd 3): R request head, I body bytes, E end of body
  runner -> worker (fd 4): H hello (JSON), O stdout bytes, X stderr bytes, D done (JSON)
The request head is NUL-separated UTF-8: script, cwd, then name and value of each variable.

Everything here is reached while a script runs (its sys.stdout writes frames), so no name it
looks up may be one a script can replace: builtins are bound as this module's globals, os
functions are captured at import, and no json (a script may patch json.dumps) is used after
the hello.
"""

import _struct
import os
from builtins import bytearray, bytes, len, max, memoryview, min, open, range, sum

from _thread import allocate_lock

HEADER = _struct.Struct(">cI")
_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from
# Largest payload written in one frame; bigger writes are cut (the worker streams them on).
MAX_PAYLOAD = 256 * 1024
# Read buffer of the channel, in bytes.
READ_BUFFER = 64 * 1024
# Largest request head accepted, in bytes (the worker's PARAMS are bounded well below this).
MAX_HEAD = 8 * 1024 * 1024

_write = os.write
_writev = os.writev
_read = os.read


class ChannelClosed(Exception):
    """The worker closed its end (or sent garbage): the runner has nothing left to do."""


def parse_head(payload):
    """Returns (script, cwd, env) from an R frame's payload."""
    fields = bytes(payload).decode("utf-8", "surrogateescape").split("\0")
    if len(fields) < 2 or len(fields) % 2:
        raise ChannelClosed("malformed request head")
    env = {}
    for index in range(2, len(fields), 2):
        env[fields[index]] = fields[index + 1]
    return fields[0], fields[1], env


def done_payload(status, signal_name, reasons, check_ns):
    """The D frame: JSON built by hand from the runner's own values (no json module).

    `status` is an exit status or None (then `signal_name` names the signal), `reasons` the
    runner's recycle reasons (ASCII text of the runner's own making), `check_ns` the time the
    state checks took.
    """
    exit_field = b"null" if status is None else b"%d" % status
    payload = b'{"exit":%s,"checkUs":%d' % (exit_field, check_ns // 1000)
    if signal_name is not None:
        payload += b',"signal":"%s"' % _json_text(signal_name)
    if reasons:
        payload += b',"recycle":"%s"' % _json_text("; ".join(reasons))
    return payload + b"}"


def _json_text(text):
    """ASCII with quotes, backslashes and controls replaced: safe inside a JSON string."""
    data = text.encode("ascii", "replace")
    return bytes(b if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else 0x3F for b in data)


class Channel:
    """Frames over two inherited descriptors: `in_fd` from the worker, `out_fd` to it."""

    def __init__(self, in_fd, out_fd):
        for fd in (in_fd, out_fd):
            # A script's children must never hold the channel open, and writes must block
            # (the worker applies backpressure by not reading).
            os.set_inheritable(fd, False)
            os.set_blocking(fd, True)
        self.in_fd = in_fd
        self.out_fd = out_fd
        self._in = open(in_fd, "rb", buffering=READ_BUFFER, closefd=False)
        # Scripts may write from threads: one frame at a time.
        self._lock = allocate_lock()
        self._queue = []  # frame headers and payloads not written yet
        self._queued = 0  # payload bytes in the queue
        self._holding = False

    # -- reading, blocking (the persistent runner; only the main thread reads) ------------

    def read_header(self):
        """Returns the next frame's (type, payload length)."""
        data = self._in.read(HEADER.size)
        if len(data) < HEADER.size:
            raise ChannelClosed("end of input")
        return _unpack_header(data)

    def read_into(self, view):
        """Fills `view` (a writable memoryview) with payload bytes."""
        if self._in.readinto(view) < len(view):
            raise ChannelClosed("end of input inside a frame")

    def skip(self, length):
        """Discards `length` payload bytes."""
        while length > 0:
            data = self._in.read(min(length, READ_BUFFER))
            if not data:
                raise ChannelClosed("end of input inside a frame")
            length -= len(data)

    def next_request(self):
        """Returns the next request head, skipping what is left of the previous body."""
        while True:
            kind, length = self.read_header()
            if kind == b"R":
                if length > MAX_HEAD:
                    raise ChannelClosed("request head of %d bytes" % length)
                payload = bytearray(length)
                self.read_into(memoryview(payload))
                return parse_head(payload)
            if kind not in (b"I", b"E"):
                raise ChannelClosed("unexpected frame %r between requests" % kind)
            self.skip(length)

    # -- writing (any thread) -----------------------------------------------------------

    def send(self, kind, payload=b""):
        """Writes `payload` as frames of type `kind` (one empty frame when it is empty)."""
        view = memoryview(payload).cast("B")
        with self._lock:
            for start in range(0, max(len(view), 1), MAX_PAYLOAD):
                piece = view[start : start + MAX_PAYLOAD]
                self._queue.append(_pack_header(kind, len(piece)))
                if len(piece):
                    # A held piece outlives this call: copy it (it may be a writer's buffer).
                    self._queue.append(bytes(piece) if self._holding else piece)
                    self._queued += len(piece)
            if not self._holding or self._queued >= MAX_PAYLOAD:
                self._write_queue()

    def hold(self):
        """Keeps small frames back until `release`, so the end of a request (the last output
        and DONE) goes out in one write: one wake-up of the worker instead of two or three.
        """
        with self._lock:
            self._holding = True

    def release(self):
        with self._lock:
            self._holding = False
            self._write_queue()

    def _write_queue(self):
        buffers, self._queue, self._queued = self._queue, [], 0
        if not buffers:
            return
        total = sum(len(buffer) for buffer in buffers)
        written = _writev(self.out_fd, buffers)
        if written < total:
            view = memoryview(b"".join(bytes(buffer) for buffer in buffers))[written:]
            while len(view) > 0:
                view = view[_write(self.out_fd, view) :]


class FrameDecoder:
    """Frames from bytes as they arrive (the fork parent reads fd 3 only when poll says so).

    `feed(data)` returns the complete frames as (type, payload) pairs; body frames (I) may be
    returned in pieces as their bytes arrive, so a large body frame is never held whole.
    """

    def __init__(self):
        self._buffer = bytearray()
        self._kind = None  # type of the frame whose payload is being read
        self._left = 0  # its payload bytes still to come
        self._head = bytearray()  # an R payload being gathered

    def feed(self, data):
        buffer = self._buffer
        buffer += data
        frames = []
        offset = 0
        while True:
            if self._kind is None:
                if len(buffer) - offset < HEADER.size:
                    break
                kind, length = _unpack_header(buffer, offset)
                offset += HEADER.size
                if kind not in (b"R", b"I", b"E") or (kind == b"R" and length > MAX_HEAD):
                    raise ChannelClosed("unexpected frame %r (%d bytes)" % (kind, length))
                self._kind, self._left = kind, length
                if length == 0:
                    frames.append((kind, b""))
                    self._kind = None
                continue
            take = min(self._left, len(buffer) - offset)
            if take == 0:
                break
            piece = bytes(buffer[offset : offset + take])
            offset += take
            self._left -= take
            if self._kind == b"R":
                self._head += piece
                if self._left == 0:
                    frames.append((b"R", bytes(self._head)))
                    self._head = bytearray()
            else:
                frames.append((self._kind, piece))
            if self._left == 0:
                self._kind = None
        del buffer[:offset]
        return frames


def read_available(fd):
    """One read of what `fd` holds (at most the read buffer); b"" at end of file."""
    return _read(fd, READ_BUFFER)
