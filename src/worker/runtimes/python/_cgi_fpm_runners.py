"""The python worker's runners: one runner.py process per interpreter its scripts name.

This file implements, from the perspective of the python worker (the process the supervisor
spawns for a python pool), what runner-slot.ts, child.ts and child-process.ts do for the
standalone Node worker: a runner is spawned in its own session (so SIGKILL to its group
reaches what scripts started), with its channel (a socket pair, fds 3 and 4) and its own
output (fds 1 and 2, logged as lines); it serves once it said hello; its frames go to the
request in flight; it is replaced when it dies or retires. Stdlib only.
"""

import _signal
import _socket
import json
import os
from signal import Signals as _Signals

from _cgi_fpm_channel_worker import rss_bytes
from _cgi_fpm_connection import READ_BYTES, Connection
from _cgi_fpm_frames import DONE, HELLO, STDOUT, FrameParser, Lines
from _cgi_fpm_log import text as _text

# How long a runner may take to say hello, in seconds.
START_TIMEOUT = 10.0
# How long a runner may take to exit once its channel is closed, in seconds, before SIGKILL.
CLOSE_GRACE = 2.0
# Shortest time between two runner starts no request asked for, in seconds (s6's throttle).
RESPAWN_INTERVAL = 1.0
# Most interpreters one worker keeps a runner for; past it the least recently used closes.
MAX_INTERPRETERS = 4


_RUNNER_PATH = os.path.join(os.path.dirname(os.path.realpath(__file__)), "runner.py").encode()


class StartError(Exception):
    """A runner could not be started; `errno` is the spawn's errno (EACCES: 403)."""

    def __init__(self, message, errno=None):
        Exception.__init__(self, message)
        self.errno = errno


class Runner:
    """One runner process: `executable` with the `#!` line's `args`, then runner.py and its
    `flags`, in environment `env`. `sink` (the request in flight, or None) hears stdout(piece),
    stderr(piece), done(report), line(text) and ended(exit_code, signal_number)."""

    def __init__(self, loop, watcher, log, executable, args, flags, env):
        self.executable = executable
        self._loop = loop
        self._log = log
        self.sink = None
        self.alive = True
        self.retiring = None
        self.version = ""
        self.exit_code = None
        self.signal = None
        self._recent = []
        # None until the runner said hello ("") or failed to (why, as text).
        self.hello = None
        self._ended_cb = []
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        actions = [
            (os.POSIX_SPAWN_DUP2, null, 0),
            (os.POSIX_SPAWN_DUP2, log_write, 1),
            (os.POSIX_SPAWN_DUP2, log_write, 2),
            (os.POSIX_SPAWN_DUP2, theirs.fileno(), 3),
            (os.POSIX_SPAWN_DUP2, theirs.fileno(), 4),
        ]
        argv = [executable] + list(args) + [_RUNNER_PATH] + list(flags)
        try:
            self.pid = os.posix_spawn(executable, argv, env, file_actions=actions, setsid=True)
        except OSError as error:
            for fd in (log_read, log_write, null):
                os.close(fd)
            ours.close()
            theirs.close()
            raise StartError(
                'runtime: python: cannot start "%s": spawn %s %s'
                % (_text(executable), _text(executable), error.strerror),
                error.errno,
            )
        os.close(log_write)
        os.close(null)
        theirs.close()
        self.channel = Connection(loop, ours.detach(), self._data, self._channel_eof)
        self._parser = FrameParser(self._frame_data, self._frame)
        self._log_fd = log_read
        os.set_blocking(log_read, False)
        self._lines = Lines(self._line)
        loop.add_reader(log_read, self._log_readable)
        watcher.watch(self.pid, self._exited)

    def wait_hello(self, timeout=START_TIMEOUT):
        """Runs the loop until the runner said hello (several callers may wait, nested);
        raises StartError (and kills it) when it exits first or stays silent past `timeout`."""
        if self.hello is None:
            def too_late():
                if self.hello is None:
                    self.hello = "no hello within %d ms" % (timeout * 1000)

            timer = self._loop.call_later(timeout, too_late)
            while self.hello is None:
                self._loop.run_once()
            timer.cancel()
        if self.hello == "":
            return
        self.kill()
        last = self._recent[-1] if self._recent else None
        detail = self.hello if last is None else "%s: %s" % (self.hello, last)
        raise StartError('runtime: python: cannot start "%s": %s' % (_text(self.executable), detail))

    def send(self, buffers):
        self.channel.write(buffers)

    def pause_output(self):
        self.channel.pause()

    def resume_output(self):
        self.channel.resume()

    def kill(self):
        """SIGKILL to the runner's whole process group (what scripts started included)."""
        if not self.alive:
            return
        try:
            os.killpg(self.pid, _signal.SIGKILL)
        except OSError:
            try:
                os.kill(self.pid, _signal.SIGKILL)
            except OSError:
                pass

    def close(self):
        """Closes the channel (the runner exits by itself); SIGKILL after CLOSE_GRACE."""
        self.channel.close(0.1)
        if self.alive:
            self._loop.call_later(CLOSE_GRACE, self.kill)

    def when_ended(self, callback):
        if self.alive:
            self._ended_cb.append(callback)
        else:
            callback()

    def _data(self, data):
        try:
            self._parser.push(data)
        except ValueError as error:
            self._line("runner protocol error: %s" % error)
            self.kill()

    def _frame_data(self, kind, piece):
        sink = self.sink
        if sink is not None:
            if kind == STDOUT:
                sink.stdout(piece)
            else:
                sink.stderr(piece)

    def _frame(self, kind, payload):
        if kind == HELLO:
            self.version = _json_field(payload, b'"python":"', b'"')
            if self.hello is None:
                self.hello = ""
        elif kind == DONE:
            report = _done_report(payload)
            if report["recycle"] is not None:
                self.retiring = report["recycle"]
            if self.sink is not None:
                self.sink.done(report)
        else:
            self._line("runner protocol error: unexpected frame type %d" % kind)
            self.kill()

    def _log_readable(self):
        try:
            data = os.read(self._log_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._lines.push(data)
            return
        self._lines.end()
        self._loop.forget(self._log_fd)
        os.close(self._log_fd)
        self._log_fd = -1

    def _line(self, line):
        self._recent.append(line)
        del self._recent[:-5]
        if self.sink is not None:
            self.sink.line(line)
        else:
            self._log.warn({"pythonPid": self.pid, "line": line}, "python stderr")

    def _channel_eof(self):
        pass  # the exit ends the request: scripts' grandchildren may hold the log open

    def _exited(self, exit_code, signal_number):
        # What the runner wrote before it died is read before the request hears of its end.
        self._drain()
        self.alive = False
        self.exit_code = exit_code
        self.signal = _signal_name(signal_number)
        if self.hello is None:
            how = "killed by %s" % _signal_name(signal_number) if exit_code is None else "exited with code %d" % exit_code
            self.hello = how + " before its hello"
        sink, self.sink = self.sink, None
        self.channel.close(0)
        if sink is not None:
            sink.ended(exit_code, _signal_name(signal_number))
        callbacks, self._ended_cb = self._ended_cb, []
        for callback in callbacks:
            callback()

    def _drain(self):
        fd = self.channel.fd
        while not self.channel.closed:
            try:
                data = os.read(fd, READ_BYTES)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            self._data(data)
        if self._log_fd >= 0:
            while True:
                try:
                    data = os.read(self._log_fd, 65536)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    break
                self._lines.push(data)

    def rss_bytes(self):
        return rss_bytes(self.pid) if self.alive else 0



def _signal_name(number):
    if number is None:
        return None
    try:
        return _Signals(number).name
    except ValueError:
        return "SIG%d" % number


def _json_field(payload, start, end):
    at = payload.find(start)
    if at < 0:
        return ""
    at += len(start)
    return payload[at : payload.find(end, at)].decode("utf-8", "replace")


def _done_report(payload):
    """The DONE frame's JSON (done_payload in _cgi_fpm_channel)."""
    try:
        done = json.loads(payload)
    except ValueError:
        done = {}
    exit_code = done.get("exit")
    signal_name = done.get("signal") if isinstance(done.get("signal"), str) else None
    recycle = done.get("recycle")
    return {
        "exit_code": exit_code if isinstance(exit_code, int) else (1 if signal_name is None else None),
        "signal": signal_name,
        "recycle": recycle if isinstance(recycle, str) and recycle else None,
        "check_us": done.get("checkUs", 0),
    }
