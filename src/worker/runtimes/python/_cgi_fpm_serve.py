"""One FastCGI request of a python pool, from its params to its END_REQUEST.

This file implements, from the perspective of the python worker reading its supervisor's
channel, what serve.ts, cgi-output.ts and request.ts do for the standalone Node worker: the
script's environment, the runner of the interpreter its `#!` line names, the head and body
sent to it as frames (the body as it arrives, with backpressure), its stdout through the CGI
head check into FCGI_STDOUT records, its stderr logged by line (and forwarded with
`stderr = "forward"`), `request_terminate_timeout` and the web server's abort (SIGKILL to the
runner's group), the 403/502/504 page when no header went out, and one log line per request.
Stdlib only.
"""

import os
import time

from _cgi_fpm_environ import last_value
from _cgi_fpm_fcgi import FCGI_REQUEST_COMPLETE, FCGI_STDERR, FCGI_STDOUT, end_request, stream, stream_end
from _cgi_fpm_head import CgiError, HeadParser, encode_head, error_page, no_headers_error
from _cgi_fpm_frames import REQUEST, STDIN, STDIN_END, Lines, frame
from _cgi_fpm_runners import StartError
from _cgi_fpm_scriptfile import Refused
from _cgi_fpm_shebang import NotFound

_monotonic = time.monotonic
# The END_REQUEST protocol status of a response cut short after its head (src/worker/ipc.ts
# CHANNEL_REQUEST_FAILED): the supervisor then closes the web server's connection without one.
CHANNEL_REQUEST_FAILED = 0xFF
# Head and body sent in one record when the body is this small, in bytes.
COALESCE_BYTES = 16 * 1024


class Request:
    """One request: made at FCGI_BEGIN_REQUEST, run once its params are complete."""

    def __init__(self, server, request_id):
        self.server = server
        self.request_id = request_id
        self.started = _monotonic()
        self.script = b""
        self.runner = None
        self.head = None
        self.parser = HeadParser()
        self.output_error = None
        self.bytes = 0
        self.stderr_used = False
        self.body_ended = False
        self.body_early = []
        self.aborted = False
        self.timed_out = False
        self.timer = None
        self.over = False
        self.lines = Lines(self.line)

    # --- the runner's sink -------------------------------------------------------------

    def stdout(self, piece):
        if self.output_error is not None or self.aborted:
            return
        if self.head is None:
            try:
                head = self.parser.push(bytes(piece))
                if head is None:
                    return
                encoded = encode_head(head)
            except CgiError as error:
                self.output_error = error
                return
            self.head = head
            rest = self.parser.rest
            if len(rest) <= COALESCE_BYTES:
                self._write_stdout(encoded + bytes(rest))
            else:
                self._write_stdout(encoded)
                self._write_stdout(rest)
            return
        self._write_stdout(piece)

    def stderr(self, piece):
        self.lines.push(bytes(piece))

    def line(self, line):
        server = self.server
        server.log.warn({"script": _text(self.script), "line": line}, "cgi stderr")
        if server.forward_stderr and not self.aborted:
            self.stderr_used = True
            server.connection.write(stream(FCGI_STDERR, self.request_id, line.encode("utf-8") + b"\n"))

    def done(self, report):
        log = self.server.log
        if log.enabled("debug"):
            log.debug({"script": _text(self.script), "checkUs": report["check_us"]}, "python state checked")
        if report["recycle"] is not None:
            self.server.log.warn(
                {"script": _text(self.script), "pythonPid": self.runner.pid, "reason": report["recycle"]},
                "python runner recycled",
            )
        self.finish(report["exit_code"], report["signal"])

    def ended(self, exit_code, signal_name):
        self.finish(exit_code, signal_name)

    # --- driven by the server ----------------------------------------------------------

    def run(self, pairs):
        server = self.server
        script = self.script = last_value(pairs, b"SCRIPT_FILENAME") or b""
        cwd = os.path.dirname(script)
        env = server.environments.build(pairs, script)
        try:
            fd, stat = server.scripts.open(script)
        except Refused as refused:
            server.log.warn({"script": _text(script), "reason": refused.reason}, "script refused")
            return self.fail(refused.status, None, {})
        try:
            interpreter = server.interpreters.of(script, cwd, env.get(b"PATH"), fd, stat)
            slot = server.runners.slot(interpreter)
            runner = slot.ready()
        except NotFound as error:
            return self.fail(502, "cgi spawn failed", {"err": "cgi: spawn failed: %s: %s" % (_text(script), error)})
        except StartError as error:
            return self.fail(*server.spawn_failure(error))
        fields = [script, cwd]
        for name, value in env.items():
            fields += (name, value)
        payload = b"\0".join(fields)
        if payload.count(b"\0") != len(fields) - 1:
            message = "cgi: spawn failed: %s: a NUL byte in the environment or path" % _text(script)
            return self.fail(502, "cgi spawn failed", {"err": message})
        self.runner = runner
        runner.sink = self
        server.report_group(self.request_id, runner.pid)
        limit = server.terminate_timeout
        if limit > 0:
            self.timer = server.loop.call_later(limit, self.time_out)
        runner.send(frame(REQUEST, payload))
        for content in self.body_early:
            self.body(content)
        self.body_early = None

    def body(self, content):
        if self.body_early is not None:
            self.body_early.append(content)
            return
        if self.body_ended or self.over:
            return
        if not content:
            self.body_ended = True
            self.runner.send(frame(STDIN_END))
            return
        runner = self.runner
        runner.send(frame(STDIN, content))
        if runner.channel.full:
            connection = self.server.connection
            connection.pause()
            runner.channel.when_drained(connection.resume)

    def abort(self):
        self.aborted = True
        if self.runner is not None and not self.over:
            self.runner.kill()  # its state is unknown mid-script; `ended` follows

    def time_out(self):
        self.timed_out = True
        if self.runner is not None:
            self.runner.kill()

    def fail(self, status, event, fields):
        self._conclude(status, event, fields)

    def finish(self, exit_code, signal_name):
        if self.over:
            return
        runner = self.runner
        runner.sink = None
        if not self.body_ended:
            self.body_ended = True
            if runner.alive:
                # The runner skips the unread rest of the body up to this mark.
                runner.send(frame(STDIN_END))
        self.lines.end()
        exit_fields = {"exitCode": exit_code, "signal": signal_name}
        if self.head is not None:
            if self.timed_out:
                return self._conclude(self.head.status, "request timeout", dict(exit_fields, truncated=True))
            if signal_name is not None and not self.aborted:
                # Killed by a signal after its head (the runner killed, a forked child crashed):
                # the response is cut short, and the supervisor must not end it as if it were
                # whole (issue 10.7): serve.ts's `response incomplete`.
                return self._conclude(self.head.status, "response incomplete", exit_fields, True)
            return self._conclude(self.head.status, None, exit_fields)
        if self.timed_out:
            return self._conclude(504, "request timeout", exit_fields)
        error = self.output_error or no_headers_error(signal_name, exit_code, self.parser.buffered)
        return self._conclude(502, "no cgi headers", dict(exit_fields, code=error.code, err=str(error)))

    def _conclude(self, status, event, fields, failed=False):
        self.over = True
        if self.timer is not None:
            self.timer.cancel()
        server = self.server
        if self.head is None and not self.aborted:
            page = error_page(status)
            self._write_stdout(page)
            self.bytes = len(page)
        elapsed = int((_monotonic() - self.started) * 1000)
        script = _text(self.script)
        if event is not None:
            server.log.error(dict({"script": script, "elapsedMs": elapsed}, **fields), event)
        if failed:
            # An incomplete response logs status "failed" (the head's status kept as httpStatus).
            line = {"script": script, "status": "failed", "httpStatus": status, "bytes": self.bytes, "ms": elapsed}
        else:
            line = {"script": script, "status": status, "bytes": self.bytes, "ms": elapsed}
        if self.aborted:
            line["aborted"] = True
        server.log.info(line, "request")
        records = [stream_end(FCGI_STDOUT, self.request_id)]
        if self.stderr_used:
            records.append(stream_end(FCGI_STDERR, self.request_id))
        records.append(end_request(self.request_id, 0, CHANNEL_REQUEST_FAILED if failed else FCGI_REQUEST_COMPLETE))
        server.connection.write(records)
        server.request_ended(self)

    def _write_stdout(self, data):
        if self.aborted or not data:
            return
        self.bytes += len(data)
        connection = self.server.connection
        connection.write(stream(FCGI_STDOUT, self.request_id, data))
        runner = self.runner
        if connection.full and runner is not None and runner.alive:
            runner.pause_output()
            connection.when_drained(runner.resume_output)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
