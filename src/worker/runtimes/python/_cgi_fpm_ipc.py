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


class Ipc:
    """The IPC socket: `send(message)` writes one line; `read()` returns the messages that
    arrived (a list), or None once the supervisor closed its end."""

    def __init__(self, fd):
        os.set_inheritable(fd, False)
        self.fd = fd
        self._pending = b""
        self._ready = []
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
            messages = self._split()
            if messages:
                self._ready = messages[1:]
                return messages[0]
            data = os.read(self.fd, 65536)
            if not data:
                self.closed = True
                return None
            self._pending += data

    def read(self):
        """The messages that arrived since the last read (none when nothing is readable),
        or None once the supervisor closed its end."""
        ready, self._ready = self._ready, []
        if ready:
            return ready
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return None
        self._pending += data
        return self._split()

    def _split(self):
        messages = []
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                return messages
            line, self._pending = self._pending[:end], self._pending[end + 1 :]
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and isinstance(message.get("type"), str):
                messages.append(message)

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
