"""Unit tests of the `exec` pool's python worker: the script check (_cgi_fpm_exec_spawn.py), the
spawn (bytes environment and file name, working directory, session, descriptors, signals), and
one request run end to end in the worker's loop with a recording channel (_cgi_fpm_exec.py):
the head, stdin streamed, stderr, 502 / 504 pages, the failed end after a head, the group
killed at the end. Run by exec-worker-units.test.ts (`python3 -m unittest exec_worker_test` in
this directory); not shipped (the build skips *_test.py).
"""

import json
import os
import shutil
import signal
import tempfile
import time
import unittest

from _cgi_fpm_environ import EnvironmentBuilder
from _cgi_fpm_exec import CHANNEL_REQUEST_FAILED, ExecRequest
from _cgi_fpm_exec_spawn import Refused, open_script, path_swap_safe, spawn
from _cgi_fpm_fcgi import FCGI_END_REQUEST, FCGI_STDOUT, RecordParser
from _cgi_fpm_loop import ChildWatcher, Loop

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")

# A script that reports what it got: argv, cwd, session, descriptors, SIGPIPE, environment, stdin.
REPORT = """#!%s
import json, os, sys
data = sys.stdin.buffer.read()
env = {k.decode("latin-1"): v.decode("latin-1") for k, v in os.environb.items()}
out = {"argv": sys.argv, "cwd": os.getcwd(), "sid": os.getsid(0), "pid": os.getpid(),
       "fds": sorted(int(n) for n in os.listdir("/proc/self/fd"))[:-1],
       "env": env, "stdin": len(data)}
sys.stdout.buffer.write(b"Content-Type: application/json\\r\\n\\r\\n" + json.dumps(out).encode())
""" % PYTHON


class Log:
    def __init__(self):
        self.lines = []

    def _record(self, level, fields, msg):
        self.lines.append((level, msg, fields))

    def warn(self, fields, msg):
        self._record("warn", fields, msg)

    def error(self, fields, msg):
        self._record("error", fields, msg)

    def info(self, fields, msg):
        self._record("info", fields, msg)


class Channel:
    """The FastCGI channel, recorded: what the request wrote, as records."""

    full = False

    def __init__(self):
        self.data = []
        self.writes = []
        self.paused = 0

    def write(self, buffers):
        buffers = [bytes(b) for b in buffers]
        self.data.extend(buffers)
        self.writes.append(b"".join(buffers))

    def when_drained(self, callback):
        callback()

    def pause(self):
        self.paused += 1

    def resume(self):
        pass

    def records(self):
        return RecordParser().feed(b"".join(self.data))


class Server:
    """What an ExecRequest needs of its worker."""

    def __init__(self, terminate_timeout=0.0, kill_group_at_end=True, group=None):
        self.loop = Loop()
        self.group = group
        self.watcher = ChildWatcher(self.loop)
        self.log = Log()
        self.environments = EnvironmentBuilder({"PATH": "/usr/bin:/bin"}, True, {}, "cgi-fpm/test")
        self.forward_stderr = False
        self.terminate_timeout = terminate_timeout
        self.kill_group_at_end = kill_group_at_end
        self.pool = {"name": "t"}
        self.connection = Channel()
        self.groups = []
        self.ended = None

    def report_group(self, request_id, pgid):
        self.groups.append(pgid)

    def group_lost(self, error):
        self.log.warn({"pgid": self.group, "err": str(error)}, "cgi group lost")
        self.group = None

    def request_ended(self, request):
        self.ended = request

    def run(self, script, body=b"", params=()):
        request = ExecRequest(self, 1)
        request.run([(b"SCRIPT_FILENAME", script), (b"REQUEST_METHOD", b"POST")] + list(params))
        request.body(body)
        request.body(b"")
        deadline = time.monotonic() + 30
        while self.ended is None and time.monotonic() < deadline:
            self.loop.run_once()
        return request

    def stdout(self):
        return b"".join(c for kind, _, c in self.connection.records() if kind == FCGI_STDOUT)

    def protocol_status(self):
        ends = [c for kind, _, c in self.connection.records() if kind == FCGI_END_REQUEST]
        return ends[-1][4]


class Scripts(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.realpath(tempfile.mkdtemp()).encode()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def script(self, name, text, mode=0o755):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as handle:
            handle.write(text.encode() if isinstance(text, str) else text)
        os.chmod(path, mode)
        return path


class OpenScript(Scripts):
    def test_the_resolved_regular_file_is_opened(self):
        path = self.script(b"a.sh", "#!/bin/sh\n")
        fd = open_script(path)
        self.assertEqual(os.readlink("/proc/self/fd/%d" % fd).encode(), path)
        os.close(fd)

    def test_a_missing_file_is_404_a_symlink_or_directory_403(self):
        with self.assertRaises(Refused) as gone:
            open_script(os.path.join(self.dir, b"missing.sh"))
        self.assertEqual(gone.exception.status, 404)
        os.symlink(b"/bin/true", os.path.join(self.dir, b"link.sh"))
        with self.assertRaises(Refused) as link:
            open_script(os.path.join(self.dir, b"link.sh"))
        self.assertEqual(link.exception.status, 403)
        os.mkdir(os.path.join(self.dir, b"d.sh"))
        with self.assertRaises(Refused) as directory:
            open_script(os.path.join(self.dir, b"d.sh"))
        self.assertEqual(directory.exception.status, 403)

    def test_a_directory_others_may_write_makes_the_path_unsafe(self):
        path = self.script(b"a.sh", "#!/bin/sh\n")
        os.chmod(self.dir, 0o777)
        self.assertFalse(path_swap_safe(path))
        if os.getuid() == 0 and path_swap_safe(os.path.dirname(self.dir)):
            os.chmod(self.dir, 0o755)
            self.assertTrue(path_swap_safe(path))


class Spawn(Scripts):
    def start(self, path, env, via_fd=False):
        fd = open_script(path)
        pipes = [os.pipe(), os.pipe(), os.pipe()]
        try:
            pid = spawn(path, os.path.dirname(path), env, fd, pipes[0][0], pipes[1][1], pipes[2][1], via_fd)
        finally:
            os.close(fd)
            os.close(pipes[0][0])
            os.close(pipes[1][1])
            os.close(pipes[2][1])
        os.close(pipes[0][1])
        with os.fdopen(pipes[1][0], "rb") as out:
            text = out.read()
        os.close(pipes[2][0])
        os.waitpid(pid, 0)
        return pid, json.loads(text.split(b"\r\n\r\n", 1)[1])

    def test_bytes_reach_the_script_exactly_in_its_directory_and_session(self):
        path = self.script(b"caf\xe9.py", REPORT)
        env = {b"QUERY_STRING": b"a=\xff\xfe", b"PATH_INFO": b"/\xe9t\xe9"}
        pid, seen = self.start(path, env)
        self.assertEqual(seen["argv"][0].encode("utf-8", "surrogateescape"), path)
        self.assertEqual(seen["env"]["QUERY_STRING"].encode("latin-1"), b"a=\xff\xfe")
        self.assertEqual(seen["env"]["PATH_INFO"].encode("latin-1"), b"/\xe9t\xe9")
        self.assertEqual(os.fsencode(seen["cwd"]), self.dir)
        self.assertEqual(seen["sid"], pid)
        self.assertEqual(seen["fds"], [0, 1, 2])

    def test_the_script_does_not_inherit_python_s_ignored_sigpipe(self):
        server = Server()
        server.run(self.script(b"i.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\ngrep SigIgn /proc/$$/status\n"))
        ignored = int(server.stdout().split(b"SigIgn:")[1].strip(), 16)
        self.assertEqual(ignored & (1 << (signal.SIGPIPE - 1)), 0)

    def test_through_the_descriptor_the_script_gets_fd_3_and_runs_it(self):
        path = self.script(b"a.py", REPORT)
        _pid, seen = self.start(path, {}, via_fd=True)
        self.assertEqual(seen["argv"][0], "/proc/self/fd/3")
        self.assertEqual(seen["fds"], [0, 1, 2, 3])

    def test_a_worker_descriptor_without_close_on_exec_is_not_seen_once_marked(self):
        from _cgi_fpm_exec_spawn import close_on_exec_all

        leaked = os.open("/dev/null", os.O_RDONLY)
        os.set_inheritable(leaked, True)
        self.assertIn(leaked, close_on_exec_all())
        _pid, seen = self.start(self.script(b"a.py", REPORT), {})
        os.close(leaked)
        self.assertEqual(seen["fds"], [0, 1, 2])

    def test_a_missing_interpreter_is_an_os_error(self):
        path = self.script(b"a.sh", "#!/nonexistent/interpreter\n")
        with self.assertRaises(OSError):
            spawn(path, self.dir, {}, -1, 0, 1, 2, False)


class Request(Scripts):
    def test_a_response_with_its_body_streamed_in(self):
        server = Server()
        body = os.urandom(300 * 1024)
        server.run(self.script(b"a.py", REPORT), body)
        head, _, text = server.stdout().partition(b"\r\n\r\n")
        self.assertEqual(head, b"Status: 200 OK\r\nContent-Type: application/json")
        self.assertEqual(json.loads(text)["stdin"], len(body))
        self.assertEqual(server.protocol_status(), 0)
        self.assertEqual(len(server.groups), 1)
        self.assertEqual(server.log.lines[-1][2]["status"], 200)

    def test_stderr_lines_are_logged(self):
        server = Server()
        server.run(self.script(b"e.sh", "#!/bin/sh\necho oops >&2\nprintf 'Content-Type: text/plain\\n\\nok'\n"))
        self.assertIn(("warn", "cgi stderr"), [(lv, m) for lv, m, _ in server.log.lines])
        self.assertTrue(server.stdout().endswith(b"\r\n\r\nok"))

    def test_no_head_is_a_502_page(self):
        server = Server()
        server.run(self.script(b"n.sh", "#!/bin/sh\necho no head\nexit 3\n"))
        self.assertTrue(server.stdout().startswith(b"Status: 502 Bad Gateway\r\n"))
        event = [f for lv, m, f in server.log.lines if m == "no cgi headers"][0]
        self.assertIn("exit code 3", event["err"])

    def test_a_missing_interpreter_is_a_502_cgi_spawn_failed(self):
        server = Server()
        server.run(self.script(b"m.sh", "#!/nonexistent/interpreter\n"))
        self.assertTrue(server.stdout().startswith(b"Status: 502 Bad Gateway\r\n"))
        event = [f for _, m, f in server.log.lines if m == "cgi spawn failed"][0]
        self.assertIn("m.sh: ENOENT (No such file or directory)", event["err"])

    def test_a_script_the_user_may_not_execute_is_a_403_script_refused(self):
        server = Server()
        server.run(self.script(b"x.sh", "#!/bin/sh\n", mode=0o644))
        self.assertTrue(server.stdout().startswith(b"Status: 403 Forbidden\r\n"))
        event = [f for _, m, f in server.log.lines if m == "script refused"][0]
        self.assertEqual(event["reason"], "not executable by the daemon's user")

    def test_the_timeout_kills_the_group_and_answers_504(self):
        server = Server(terminate_timeout=0.2)
        server.run(self.script(b"s.sh", "#!/bin/sh\nsleep 60\n"))
        self.assertTrue(server.stdout().startswith(b"Status: 504 Gateway Timeout\r\n"))
        self.assertIn("request timeout", [m for _, m, _ in server.log.lines])

    def test_killed_by_a_signal_after_its_head_the_request_ends_failed(self):
        server = Server()
        server.run(self.script(b"k.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\npart'\nkill -9 $$\n"))
        self.assertEqual(server.protocol_status(), CHANNEL_REQUEST_FAILED)
        line = server.log.lines[-1][2]
        self.assertEqual((line["status"], line["httpStatus"]), ("failed", 200))

    def test_a_script_the_worker_may_not_open_is_refused_before_it_runs(self):
        server = Server()
        server.run(os.path.join(self.dir, b"gone.sh"))
        self.assertTrue(server.stdout().startswith(b"Status: 404 Not Found\r\n"))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    unittest.main()
