"""Unit tests of how an `exec` pool's request ends in the python worker (_cgi_fpm_exec.py
`_maybe_done`, _cgi_fpm_exec_end.py): what the script left in its group is killed, and the
request ends at its stderr's end of file, not after the grace that a descendant holding stderr
gets. Run by exec-worker-units.test.ts with exec_worker_test.py, whose Server and Scripts it
uses; not shipped (the build skips *_test.py).
"""

import os
import signal
import time
import unittest

import _cgi_fpm_exec
from _cgi_fpm_exec import ExecRequest
from _cgi_fpm_fcgi import FCGI_END_REQUEST, RecordParser
from exec_worker_test import Scripts, Server


class Ending(Scripts):
    def test_a_background_child_left_in_the_group_is_killed_at_the_end(self):
        server = Server()
        pidfile = os.path.join(self.dir, b"bg.pid")
        text = "#!/bin/sh\nsleep 300 </dev/null >/dev/null 2>&1 &\necho $! > %s\nprintf 'Content-Type: text/plain\\n\\n'\n"
        server.run(self.script(b"b.sh", text % pidfile.decode()))
        with open(pidfile) as handle:
            child = int(handle.read())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.02)
        self.assertFalse(_alive(child))

    def test_the_request_ends_at_stderr_s_end_of_file_not_after_the_grace(self):
        # A background child holds stderr (only) past the script's exit and its stdout's end:
        # killed with the group at the end, its stderr's end of file ends the request. The grace
        # is made an hour; a timer at 31 s wakes the loop so that run() gives up past its 30 s
        # bound: a request that waited for the grace is still open then (it was: 100 ms of
        # tail latency whenever stderr's end of file came a poll after stdout's).
        server = Server()
        text = "#!/bin/sh\nsleep 300 </dev/null >/dev/null &\nprintf 'Content-Type: text/plain\\n\\nok'\n"
        server.loop.call_later(31.0, lambda: None)
        grace, _cgi_fpm_exec.STDERR_GRACE = _cgi_fpm_exec.STDERR_GRACE, 3600.0
        try:
            server.run(self.script(b"g.sh", text))
        finally:
            _cgi_fpm_exec.STDERR_GRACE = grace
        self.assertIsNotNone(server.ended)
        self.assertTrue(server.stdout().endswith(b"\r\n\r\nok"))
        self.assertEqual(server.log.lines[-1][2]["status"], 200)

    def test_a_descendant_holding_stderr_outside_the_group_gets_the_grace(self):
        # Without the kill at the end, a background child keeps stderr open: the request still
        # ends, after the grace, with the script's status.
        server = Server(kill_group_at_end=False)
        pidfile = os.path.join(self.dir, b"held.pid")
        text = "#!/bin/sh\nsleep 300 </dev/null >/dev/null &\necho $! > %s\nprintf 'Content-Type: text/plain\\n\\nok'\n"
        try:
            server.run(self.script(b"h.sh", text % pidfile.decode()))
            self.assertIsNotNone(server.ended)
            self.assertEqual(server.log.lines[-1][2]["status"], 200)
        finally:
            with open(pidfile) as handle:
                os.kill(int(handle.read()), signal.SIGKILL)


class Coalescing(Scripts):
    """A short script's response leaves with its END_REQUEST in one write; a slow one's output
    is not held until its end."""

    def test_a_short_script_s_response_and_its_end_are_one_write(self):
        server = Server()
        server.run(self.script(b"h.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello'\n"))
        self.assertTrue(server.stdout().endswith(b"\r\n\r\nhello"))
        self.assertEqual(len(server.connection.writes), 1)
        parsed = RecordParser().feed(server.connection.writes[0])
        self.assertEqual([kind for kind, _, _ in parsed][-1], FCGI_END_REQUEST)

    def test_output_of_a_script_still_running_is_written_before_its_end(self):
        # The script prints its head, then waits for a file the test makes only once the head
        # reached the channel: held until the end, it would never come (run()'s bound).
        text = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfirst'\nwhile [ ! -e GATE ]; do sleep 0.01; done\nprintf second\n"
        server = self._gated(b"s.sh", text, lambda s: b"first" in s.stdout())
        self.assertTrue(server.stdout().endswith(b"\r\n\r\nfirst"))
        self._open_gate(server)
        self.assertTrue(server.stdout().endswith(b"firstsecond"))

    def test_a_large_output_is_written_before_the_script_ends(self):
        text = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nhead -c 200000 /dev/zero\nwhile [ ! -e GATE ]; do sleep 0.01; done\n"
        server = self._gated(b"l.sh", text, lambda s: len(s.stdout()) >= 128 * 1024)
        self.assertGreaterEqual(len(server.stdout()), 128 * 1024)
        self._open_gate(server)
        self.assertEqual(server.stdout().partition(b"\r\n\r\n")[2], bytes(200000))

    def _gated(self, name, text, seen):
        """Runs the script `text` (GATE: a file it waits for) until `seen(server)` holds, bounded
        by 30 s; the request must still be running then."""
        server = Server()
        self.gate = os.path.join(self.dir, b"gate")
        request = ExecRequest(server, 1)
        script = self.script(name, text.replace("GATE", self.gate.decode()))
        request.run([(b"SCRIPT_FILENAME", script), (b"REQUEST_METHOD", b"GET")])
        request.body(b"")
        self._until(server, lambda: seen(server))
        self.assertIsNone(server.ended)
        return server

    def _open_gate(self, server):
        """Makes the file the script waits for, then runs the request to its end (30 s bound)."""
        open(self.gate, "wb").close()
        self._until(server, lambda: server.ended is not None)

    @staticmethod
    def _until(server, probe):
        deadline = time.monotonic() + 30
        while not probe() and time.monotonic() < deadline:
            server.loop.run_once()


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    unittest.main()
