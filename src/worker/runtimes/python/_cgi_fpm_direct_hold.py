"""The response of a direct worker's request held back until the web server sent the whole body.

This file implements, from the perspective of a python worker that accepted the web server's
connection itself (`dispatch = "direct"`), the rule the supervisor's relay keeps for relayed
requests (src/supervisor/relay/output-hold.ts; docs/DESIGN.md, "The response waits for the
body"): nginx and Apache send no more of a request's body once they have the response head, so
a script that writes its head and then reads a large body (git-http-backend's receive-pack, an
echo) would wait for bytes that never come. So what a request writes while its FCGI_STDIN is
still open is kept: in memory up to HOLD_MEMORY_BYTES, past that in an unlinked temporary
file; the script's output keeps being read meanwhile (`full` is False), so it never blocks on
its stdout while the body still comes. The empty STDIN record, or the request's end, releases
it: the file, then memory, written out in order with the connection's backpressure; only then
does output pass straight through (and END_REQUEST follow). Stdlib only.
"""

import tempfile

# Bytes of held output kept in memory; past it they go to the temporary file (output-hold.ts).
HOLD_MEMORY_BYTES = 64 * 1024
# Bytes read back from the file per step of a release.
READ_BYTES = 64 * 1024


class HeldOutput:
    """Stands for the request's `Connection` (write, full, when_drained, when_flushed, pause,
    resume, hold, release, closed) while the hold lasts; `release(then)` ends it."""

    def __init__(self, connection, temp_path=None):
        self._connection = connection
        self._temp_path = temp_path
        self.holding = True
        self._releasing = False
        self._memory = []
        self._memory_bytes = 0
        self._file = None
        self._after = []

    # --- what a request and a runner use --------------------------------------------------

    @property
    def closed(self):
        return self._connection.closed

    @property
    def full(self):
        """Never while holding (the script's output must keep flowing); the connection's own
        backpressure while the held bytes are written out and after."""
        if self.holding and not self._releasing:
            return False
        return self._connection.full or self._releasing

    def write(self, buffers):
        if not self.holding:
            self._connection.write(buffers)
            return
        for buffer in buffers:
            data = bytes(buffer)  # a view of a reused read buffer must not be kept
            self._memory.append(data)
            self._memory_bytes += len(data)
        if self._memory_bytes > HOLD_MEMORY_BYTES and not self._releasing:
            self._spill()

    def when_drained(self, callback):
        if self.holding and not self._releasing:
            callback()
        elif self.holding:
            self._after.append(lambda: self._connection.when_drained(callback))
        else:
            self._connection.when_drained(callback)

    def when_flushed(self, callback):
        if self.holding:
            self._after.append(lambda: self._connection.when_flushed(callback))
        else:
            self._connection.when_flushed(callback)

    def pause(self):
        self._connection.pause()

    def resume(self):
        self._connection.resume()

    def hold(self):
        self._connection.hold()

    def release(self):
        self._connection.release()

    # --- the hold ----------------------------------------------------------------------------

    def release_held(self, then=None):
        """The body ended, or the request did: writes out what was held (in order, honouring
        the connection's backpressure), then passes output through and calls `then()`."""
        if then is not None:
            if self.holding:
                self._after.append(then)
            else:
                then()
        if not self.holding or self._releasing:
            return
        self._releasing = True
        if self._file is not None:
            self._file.seek(0)
        self._pump()

    def drop(self):
        """The request is over without its output (the peer is gone): nothing held is kept."""
        self._memory = []
        self._memory_bytes = 0
        if self._file is not None:
            self._file.close()
            self._file = None

    def _spill(self):
        if self._file is None:
            # Unlinked at once (O_TMPFILE where the kernel has it): nothing left by a crash.
            self._file = tempfile.TemporaryFile(prefix="cgi-fpm-hold-", dir=self._temp_path)
        self._file.write(b"".join(self._memory))
        self._memory = []
        self._memory_bytes = 0

    def _pump(self):
        connection = self._connection
        while not connection.closed:
            if self._file is not None:
                chunk = self._file.read(READ_BYTES)
                if not chunk:
                    self._file.close()
                    self._file = None
                    continue
                connection.write([chunk])
            elif self._memory:
                held, self._memory, self._memory_bytes = self._memory, [], 0
                connection.write(held)
            else:
                break
            if connection.full:
                connection.when_drained(self._pump)
                return
        self.drop()
        self.holding = False
        self._releasing = False
        after, self._after = self._after, []
        for callback in after:
            callback()
