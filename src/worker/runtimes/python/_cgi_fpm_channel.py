"""The channel between the runner and the cgi-fpm worker that started it.

This file implements the runner's side of the worker <-> runner framing (frames.ts is the
worker's side), from the perspective of the runner's main loop and of a request's streams:
frames read from fd 3, frames written to fd 4 from any thread. Stdlib only.

A frame is 1 type byte, a 4-byte big-endian payload length, then the payload.
  worker -> runner (fd 3): R request head (JSON), I body bytes, E end of body
  runner -> worker (fd 4): H hello (JSON), O stdout bytes, X stderr bytes, D done (JSON)
"""

import json
import os
import struct
import threading

HEADER = struct.Struct(">cI")
# Largest payload written in one frame; bigger writes are cut (the worker streams them on).
MAX_PAYLOAD = 256 * 1024
# Read buffer of the channel, in bytes.
READ_BUFFER = 64 * 1024


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
        self._in = open(in_fd, "rb", buffering=READ_BUFFER)
        self._out = out_fd
        # Scripts may write from threads: one frame at a time.
        self._lock = threading.Lock()
        self._queue = []  # frame headers and payloads not written yet
        self._queued = 0  # payload bytes in the queue
        self._holding = False

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
            data = self._in.read(min(length, READ_BUFFER))
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
            for start in range(0, max(len(view), 1), MAX_PAYLOAD):
                piece = view[start : start + MAX_PAYLOAD]
                self._queue.append(HEADER.pack(kind, len(piece)))
                if len(piece):
                    # A held piece outlives this call: copy it (it may be a writer's buffer).
                    self._queue.append(bytes(piece) if self._holding else piece)
                    self._queued += len(piece)
            if not self._holding or self._queued >= MAX_PAYLOAD:
                self._write_queue()

    def send_json(self, kind, value):
        self.send(kind, json.dumps(value).encode("utf-8"))

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
        written = os.writev(self._out, buffers)
        if written < total:
            view = memoryview(b"".join(bytes(buffer) for buffer in buffers))[written:]
            while len(view) > 0:
                view = view[os.write(self._out, view) :]
