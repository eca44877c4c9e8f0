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
from _cgi_fpm_exec_end import RequestEnd
from _cgi_fpm_fcgi import FCGI_STDERR, FCGI_STDOUT, stream
from _cgi_fpm_head import HeadStep
from _cgi_fpm_log import text as _text
from _cgi_fpm_frames import REQUEST, STDIN, STDIN_END, Lines, frame
from _cgi_fpm_runners import StartError
from _cgi_fpm_scriptfile import Refused
from _cgi_fpm_shebang import NotFound

_monotonic = time.monotonic
# Head and body sent in one record when the body is this small, in bytes.
COALESCE_BYTES = 16 * 1024


class Request(RequestEnd, HeadStep):
    """One request: made at FCGI_BEGIN_REQUEST, run once its params are complete."""

    def __init__(self, server, request_id):
        self.server = server
        self.request_id = request_id
        self.started = _monotonic()
        self.script = b""
        self.runner = None
        self._start_head()
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
            taken = self._take_head(bytes(piece))
            if taken is None:
                return
            encoded, rest = taken
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
        self._end_by(exit_code, signal_name)

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

