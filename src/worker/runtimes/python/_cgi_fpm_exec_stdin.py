"""The body of an `exec` request written to its script's stdin.

This file implements, from the perspective of the python exec worker's request
(_cgi_fpm_exec.py, whose ExecRequest mixes this in), the script's stdin: body records written
as they come, without blocking (the rest waits for the pipe to be writable), the channel paused
while more than STDIN_HIGH_WATER bytes wait, and the pipe closed at the body's end or when the
script stopped reading (EPIPE: the rest of the body is dropped, the channel read on). Stdlib only.
"""

import os


class StdinWriter:
    """ExecRequest's stdin half: needs `server`, `stdin_fd`, `stdin_pending`, `stdin_bytes`,
    `paused`, `body_ended`."""

    def _write_stdin(self):
        pending = self.stdin_pending
        while pending:
            try:
                written = os.write(self.stdin_fd, pending[0])
            except BlockingIOError:
                self.server.loop.add_writer(self.stdin_fd, self._write_stdin)
                return
            except OSError:
                self._close_stdin()  # EPIPE: the script closed its stdin or exited
                return
            self.stdin_bytes -= written
            if written < len(pending[0]):
                pending[0] = memoryview(pending[0])[written:]
            else:
                pending.pop(0)
        self.server.loop.remove_writer(self.stdin_fd)
        self._resume_channel()
        if self.body_ended:
            self._close_stdin()

    def _close_stdin(self):
        if self.stdin_fd >= 0:
            self.server.loop.forget(self.stdin_fd)
            os.close(self.stdin_fd)
            self.stdin_fd = -1
        self.stdin_pending = []
        self.stdin_bytes = 0
        self._resume_channel()

    def _resume_channel(self):
        if self.paused:
            self.paused = False
            self.server.connection.resume()
