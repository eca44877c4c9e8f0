"""The control channel between the supervisor and the python worker.

This file implements, from the perspective of the python worker (src/worker/ipc.ts has the
message shapes), the control channel of src/worker/control-channel.ts: the descriptor named by
the worker's first argument carries one JSON text per line each way (not Node's IPC, which
would put process.send where node pools' scripts run). The worker
reads the pool's config once and `stop`; it sends `ready`, `start-failed`, `cgi-group` and
`recycle`. End of file means the supervisor is gone. Stdlib only.
"""

import json
import os

_dumps = json.JSONEncoder(separators=(",", ":")).encode
# Bound on one line from the supervisor (control-channel.ts SUPERVISOR_LINE_MAX_BYTES: the
# pool's config, its `env` included), in bytes.
LINE_MAX_BYTES = 16 * 1024 * 1024
# Bytes read per read(2).
READ_BYTES = 64 * 1024


class Ipc:
    """The IPC socket: `send(message)` writes one line; `read()` returns the messages that
    arrived (a list), or None once the supervisor closed its end."""

    def __init__(self, fd):
        os.set_inheritable(fd, False)
        self.fd = fd
        self._pending = []  # pieces of the line being received
        self._pending_bytes = 0
        self._ready = []
        # The line being received passed LINE_MAX_BYTES: the rest of it is dropped.
        self.skipping = False
        # Lines dropped (too long, not JSON, not a message).
        self.invalid = 0
        self.closed = False

    @classmethod
    def from_argument(cls, text):
        """The control channel whose descriptor the supervisor names in the worker's first
        argument (worker/control-channel.ts: JSON lines; made non-inheritable, so no runner or
        script inherits it)."""
        try:
            fd = int(text)
        except ValueError:
            raise SystemExit("cgi-fpm python worker: the first argument must name the control fd, got %r" % (text,))
        return cls(fd)

    def read_blocking(self):
        """The next message, waiting for it (start-up, before the loop runs); None at EOF."""
        while True:
            if self._ready:
                return self._ready.pop(0)
            data = os.read(self.fd, READ_BYTES)
            if not data:
                self.closed = True
                return None
            self._receive(data)

    def read(self):
        """The messages that arrived since the last read (none when nothing is readable),
        or None once the supervisor closed its end."""
        try:
            data = os.read(self.fd, READ_BYTES)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data == b"":
            self.closed = True
            return None
        if data is not None:
            self._receive(data)
        ready, self._ready = self._ready, []
        return ready

    def _receive(self, data):
        """Splits `data` into lines: each complete one parsed; a line past LINE_MAX_BYTES is
        dropped up to its newline (control-channel.ts's bound), as is one that is not a JSON
        object with a string `type`."""
        start = 0
        end = data.find(b"\n")
        while end >= 0:
            pending, self._pending = self._pending, []
            skipped, self.skipping = self.skipping, False
            if not skipped:
                pending.append(data[start:end])
                self._line(b"".join(pending))
            start = end + 1
            end = data.find(b"\n", start)
        if start == len(data) or self.skipping:
            return
        self._pending.append(data[start:])
        self._pending_bytes = sum(len(piece) for piece in self._pending)
        if self._pending_bytes > LINE_MAX_BYTES:
            self._pending = []
            self.skipping = True
            self.invalid += 1

    def _line(self, line):
        if len(line) > LINE_MAX_BYTES:
            self.invalid += 1
            return
        try:
            message = json.loads(line)
        except ValueError:
            self.invalid += 1
            return
        if isinstance(message, dict) and isinstance(message.get("type"), str):
            self._ready.append(message)
        else:
            self.invalid += 1

    def send(self, message):
        """Writes `message` as one line; False when the supervisor is gone."""
        if self.closed:
            return False
        data = (_dumps(message) + "\n").encode("utf-8")
        try:
            while data:
                try:
                    data = data[os.write(self.fd, data) :]
                except BlockingIOError:
                    os.set_blocking(self.fd, True)
                    data = data[os.write(self.fd, data) :]
                    os.set_blocking(self.fd, False)
        except OSError:
            self.closed = True
            return False
        return True

    def close(self):
        if not self.closed:
            self.closed = True
        try:
            os.close(self.fd)
        except OSError:
            pass
