"""The frames between the python worker and its runners, from the worker's side.

This file implements, from the perspective of the python worker reading a runner's output,
what frames.ts does for the standalone Node worker (runner.py's _cgi_fpm_channel is the other
end): a frame is 1 type byte, a 4-byte big-endian payload length, then the payload; stdout and
stderr payloads are handed on in pieces as they arrive, HELLO and DONE whole; and the lines the
interpreter itself writes on its fds 1 and 2. Pure. Stdlib only.
"""

# Largest control payload (HELLO, DONE) accepted, in bytes.
MAX_CONTROL_PAYLOAD = 64 * 1024
# Longest line of the interpreter's own output, in bytes (longer ones are cut).
MAX_LINE = 8192

HELLO, DONE, STDOUT, STDERR = 0x48, 0x44, 0x4F, 0x58
REQUEST, STDIN, STDIN_END = b"R", b"I", b"E"


def frame(kind, payload=b""):
    return (kind + len(payload).to_bytes(4, "big"), payload)


class FrameParser:
    """Splits a runner's output: STDOUT/STDERR payloads handed on in pieces as they come
    (`data(kind, piece)`), other frames whole (`control(kind, payload)`)."""

    def __init__(self, data, control):
        self._data = data
        self._control = control
        self._header = b""
        self._kind = 0
        self._left = -1  # -1: reading a header
        self._held = []

    def push(self, chunk):
        offset, size = 0, len(chunk)
        while offset < size:
            if self._left < 0:
                take = 5 - len(self._header)
                self._header += chunk[offset : offset + take]
                offset += take
                if len(self._header) < 5:
                    return
                self._kind = self._header[0]
                self._left = int.from_bytes(self._header[1:5], "big")
                self._header = b""
                streamed = self._kind in (STDOUT, STDERR)
                if not streamed and self._left > MAX_CONTROL_PAYLOAD:
                    raise ValueError("frame %d of %d bytes" % (self._kind, self._left))
                if self._left == 0:
                    self._end()
                continue
            take = min(self._left, size - offset)
            piece = chunk[offset : offset + take]
            offset += take
            self._left -= take
            if self._kind in (STDOUT, STDERR):
                self._data(self._kind, piece)
            else:
                self._held.append(piece)
            if self._left == 0:
                self._end()

    def _end(self):
        self._left = -1
        if self._kind not in (STDOUT, STDERR):
            payload, self._held = b"".join(self._held), []
            self._control(self._kind, payload)


class Lines:
    """Bytes split into lines (LF or CRLF), each at most MAX_LINE bytes, decoded UTF-8."""

    def __init__(self, on_line):
        self._on_line = on_line
        self._pending = b""

    def push(self, data):
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._emit(line[:-1] if line.endswith(b"\r") else line)
        while len(self._pending) > MAX_LINE:
            self._emit(self._pending[:MAX_LINE])
            self._pending = self._pending[MAX_LINE:]

    def end(self):
        rest, self._pending = self._pending, b""
        if rest:
            self._emit(rest[:-1] if rest.endswith(b"\r") else rest)

    def _emit(self, line):
        self._on_line(line.decode("utf-8", "replace"))
