"""How a request of the python worker ends: its status, its log lines and its END_REQUEST.

This file implements, from the perspective of the python worker's requests (both roles mix it
in: _cgi_fpm_exec.py's ExecRequest and _cgi_fpm_serve.py's Request), what serve.ts `conclude`/`finish` and
spawn-failure.ts do for the Node worker: the head's status (a timeout after it logged as
`request timeout`, a signal after it ending the request as failed), 504 without a head after a
timeout, 502 `no cgi headers` naming how the script ended, 403 `script refused` for EACCES on
the spawn and 502 `cgi spawn failed` for other spawn errors, the daemon's error page when no
head went out, one `request` log line, and the records that end the request. Stdlib only.
"""

import errno
import os
import time

from _cgi_fpm_fcgi import FCGI_REQUEST_COMPLETE, FCGI_STDERR, FCGI_STDOUT, end_request, stream, stream_end
from _cgi_fpm_head import error_page, no_headers_error
from _cgi_fpm_log import text as _text

_monotonic = time.monotonic
# END_REQUEST's protocol status for a response cut short after its head (src/worker/ipc.ts
# CHANNEL_REQUEST_FAILED).
CHANNEL_REQUEST_FAILED = 0xFF


class RequestEnd:
    """ExecRequest's ending half."""

    def _finish(self):
        if self.over:
            return
        self._drain_stderr()
        self._close_stderr()
        self._close_stdin()
        self._end_by(*self.exit)

    def _end_by(self, exit_code, signal_name):
        """Concludes with the status that the head, a timeout and how the script ended say."""
        fields = {"exitCode": exit_code, "signal": signal_name}
        head = self.head
        if head is not None:
            if self.timed_out:
                return self._conclude(head.status, "request timeout", dict(fields, truncated=True))
            if not self.aborted and signal_name is not None:
                # Killed by a signal after its head (a runner killed, a forked child crashed):
                # cut short, and the supervisor must not end it as whole (issue 10.7).
                return self._conclude(head.status, "response incomplete", fields, failed=True)
            return self._conclude(head.status, None, fields)
        if self.timed_out:
            return self._conclude(504, "request timeout", fields)
        error = self.output_error or no_headers_error(signal_name, exit_code, self.parser.buffered)
        return self._conclude(502, "no cgi headers", dict(fields, code=error.code, err=str(error)))

    def take_held(self):
        """Output records held back, written with the end (ExecRequest holds some; none here)."""
        return []

    def fail(self, status, event, fields):
        """Ends the request before it ran (a refused script, a failed spawn): the status, the
        log line's event (None: none) and its fields."""
        self._conclude(status, event, fields)

    def _spawn_failure(self, error):
        """403 `script refused` when the pool's user may not execute the script (EACCES), else
        502 `cgi spawn failed` (spawn-failure.ts)."""
        if isinstance(error, ValueError):
            detail = "a NUL byte in the environment or path"
        else:
            detail = "%s (%s)" % (errno.errorcode.get(error.errno, error.errno), os.strerror(error.errno or 0))
        message = "cgi: spawn failed: %s: %s" % (_text(self.script), detail)
        if isinstance(error, OSError) and error.errno == errno.EACCES:
            user = self.server.pool.get("user")
            who = "user %s" % user["name"] if user else "the daemon's user"
            return 403, "script refused", {"reason": "not executable by %s" % who, "err": message}
        return 502, "cgi spawn failed", {"err": message}

    def _conclude(self, status, event, fields, failed=False):
        self.over = True
        if self.timer is not None:
            self.timer.cancel()
        server = self.server
        if self.head is None and not self.aborted:
            page = error_page(status)
            server.connection.write(stream(FCGI_STDOUT, self.request_id, page))
            self.bytes = len(page)
        elapsed = int((_monotonic() - self.started) * 1000)
        script = _text(self.script)
        if event is not None:
            server.log.error(dict({"script": script, "elapsedMs": elapsed}, **fields), event)
        line = {"script": script, "status": status}
        if failed:
            line.update(status="failed", httpStatus=status)
        line.update(bytes=self.bytes, ms=elapsed)
        if self.aborted:
            line["aborted"] = True
        server.log.info(line, "request")
        # What the hold kept goes out with the end (dropped after an abort: no output then).
        held = self.take_held()
        records = ([] if self.aborted else held) + [stream_end(FCGI_STDOUT, self.request_id)]
        if self.stderr_used:
            records.append(stream_end(FCGI_STDERR, self.request_id))
        records.append(end_request(self.request_id, 0, CHANNEL_REQUEST_FAILED if failed else FCGI_REQUEST_COMPLETE))
        server.connection.write(records)
        server.request_ended(self)
