"""One FastCGI request of an `exec` pool, run as a CGI process (RFC 3875 §7.2), from its params
to its END_REQUEST.

This file implements, from the perspective of the python worker of a `runtime = "exec"` pool,
what serve.ts and exec.ts do for the Node worker: the script checked and started
(_cgi_fpm_exec_spawn.py) in the worker's process group for scripts (named to the supervisor
once, by the worker), or without one in its own, named per request; the body written to its
stdin as it arrives (_cgi_fpm_exec_stdin.py) while its stdout and stderr are read
(_cgi_fpm_exec_output.py), never one before the other, with backpressure both ways; the request
done once the script exited and its stdout reached end of file (and its stderr, or a grace);
`request_terminate_timeout` and the web server's abort: SIGTERM to the group, SIGKILL and the
pipes closed 2 s later; `exec.kill_group_at_end`: SIGKILL to what is left of the group once
the request is done; the 403/404/502/504 page when no header went out and a script killed by a
signal after its head ending the request as failed (_cgi_fpm_exec_end.py). Stdlib only.
"""

import errno
import os
import _signal
import time

from _cgi_fpm_environ import last_value
from _cgi_fpm_exec_end import CHANNEL_REQUEST_FAILED, RequestEnd  # noqa: F401 (re-exported)
from _cgi_fpm_exec_output import ExecOutput, _closed
from _cgi_fpm_exec_spawn import Refused, open_script, path_swap_safe, spawn
from _cgi_fpm_exec_stdin import StdinWriter
from _cgi_fpm_frames import Lines
from _cgi_fpm_log import text as _text

_monotonic = time.monotonic
# Body bytes waiting for the script's stdin past which the channel stops being read.
STDIN_HIGH_WATER = 256 * 1024
# Between SIGTERM and SIGKILL after an abort or a timeout, in seconds (exec.ts killGraceMs).
KILL_GRACE = 2.0
# How long stderr may stay open once the script exited and stdout ended (exec.ts stderrGraceMs).
STDERR_GRACE = 0.1


class ExecRequest(ExecOutput, StdinWriter, RequestEnd):
    """One request: made at FCGI_BEGIN_REQUEST, started once its params are complete."""

    def __init__(self, server, request_id):
        self.server = server
        self.request_id = request_id
        self.started = _monotonic()
        self.script = b""
        self.pid = None
        self.pgid = None
        self._start_head()
        self.bytes = 0
        self.held = []
        self.held_bytes = 0
        self.release_timer = None
        self.stderr_used = False
        self.lines = Lines(self._line)
        self.body_early = []
        self.body_ended = False
        self.stdin_fd = self.stdout_fd = self.stderr_fd = -1
        self.stdin_pending = []
        self.stdin_bytes = 0
        self.paused = False
        self.exit = None
        self.aborted = False
        self.timed_out = False
        self.timer = None
        self.kill_timer = None
        self.stderr_timer = None
        self.ending = False
        self.over = False

    # --- driven by the worker ----------------------------------------------------------------

    def run(self, pairs):
        server = self.server
        script = self.script = last_value(pairs, b"SCRIPT_FILENAME") or b""
        try:
            script_fd = open_script(script)
        except Refused as refused:
            server.log.warn({"script": _text(script), "reason": refused.reason}, "script refused")
            return self._conclude(refused.status, None, {})
        pipes = []
        try:
            pipes = [os.pipe(), os.pipe(), os.pipe()]
            env = server.environments.build(pairs, script)
            via_fd = not path_swap_safe(script)
            cwd = os.path.dirname(script) or b"/"
            ends = (script, cwd, env, script_fd, pipes[0][0], pipes[1][1], pipes[2][1], via_fd)
            group = server.group
            try:
                self.pid = spawn(*ends, pgroup=group)
            except OSError as error:
                if group is None or error.errno not in (errno.EPERM, errno.ESRCH):
                    raise
                server.group_lost(error)  # from now on each script leads its own group
                group = None
                self.pid = spawn(*ends)
            self.pgid = self.pid if group is None else group
        except (OSError, ValueError) as error:
            for pipe in pipes:
                os.close(pipe[0])
                os.close(pipe[1])
            return self._conclude(*self._spawn_failure(error))
        finally:
            os.close(script_fd)
        os.close(pipes[0][0])
        os.close(pipes[1][1])
        os.close(pipes[2][1])
        self.stdin_fd, self.stdout_fd, self.stderr_fd = pipes[0][1], pipes[1][0], pipes[2][0]
        loop = server.loop
        for fd in (self.stdin_fd, self.stdout_fd, self.stderr_fd):
            os.set_blocking(fd, False)
        loop.add_reader(self.stdout_fd, self._stdout_readable)
        loop.add_reader(self.stderr_fd, self._stderr_readable)
        if group is None:
            server.report_group(self.request_id, self.pid)
        if server.terminate_timeout > 0:
            self.timer = loop.call_later(server.terminate_timeout, self.time_out)
        server.watcher.watch(self.pid, self._exited)
        early, self.body_early = self.body_early, None
        for content in early:
            self.body(content)

    def body(self, content):
        if self.body_early is not None:
            self.body_early.append(content)
            return
        if self.body_ended:
            return
        if not content:
            self.body_ended = True
            if not self.stdin_pending:
                self._close_stdin()
            return
        if self.stdin_fd < 0:
            return  # the script stopped reading: the rest of the body is dropped
        self.stdin_pending.append(content)
        self.stdin_bytes += len(content)
        self._write_stdin()
        if self.stdin_bytes >= STDIN_HIGH_WATER and not self.paused:
            self.paused = True
            self.server.connection.pause()

    def abort(self):
        self.aborted = True
        self._terminate()

    def time_out(self):
        self.timed_out = True
        self._terminate()

    def kill_now(self):
        """The supervisor is gone: SIGKILL the script's group, reaped by the caller."""
        if self.pid is not None and not self.over:
            _kill_group(self.pgid, _signal.SIGKILL)

    # --- the end -----------------------------------------------------------------------------

    def _exited(self, exit_code, signal_number):
        name = _signal_name(signal_number) if signal_number is not None else None
        self.exit = (exit_code, name)
        self._maybe_done()

    def _terminate(self):
        """TERM now, KILL after the grace (and the pipes closed: a process that left the group
        must not hold the request), unless the request is done first."""
        if self.pid is None or self.ending or self.kill_timer is not None:
            return
        _kill_group(self.pgid, _signal.SIGTERM)
        self.kill_timer = self.server.loop.call_later(KILL_GRACE, self._kill)

    def _kill(self):
        _kill_group(self.pgid, _signal.SIGKILL)
        if self.stdout_fd >= 0:
            self.stdout_fd = _closed(self.server.loop, self.stdout_fd)
        self._close_stderr()
        self._maybe_done()

    def _maybe_done(self):
        if self.ending or self.exit is None or self.stdout_fd >= 0:
            return
        self.ending = True  # no signal after this point but this one: the group id may be reused
        if self.kill_timer is not None:
            self.kill_timer.cancel()
        if self.server.kill_group_at_end:
            _kill_group(self.pgid, _signal.SIGKILL)
        self._drain_stderr()
        if self.stderr_fd >= 0:
            # Its end of file ends the request (_stderr_readable); a descendant that keeps it
            # open (kill_group_at_end off, or a process that left the group) gets the grace.
            self.stderr_timer = self.server.loop.call_later(STDERR_GRACE, self._finish)
        else:
            self._finish()


def _kill_group(pgid, number):
    try:
        os.killpg(pgid, number)
    except OSError:
        pass  # ESRCH: the group is gone; EPERM: a setuid script, nothing more to do


# Signal names by number (the `signal` module would import enum: memory for nothing).
_NAMES = {getattr(_signal, n): n for n in dir(_signal) if n.startswith("SIG") and not n.startswith("SIG_")}


def _signal_name(number):
    return _NAMES.get(number, "SIG%d" % number)

