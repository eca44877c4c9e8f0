"""Unit tests of the exec worker's one process group for its scripts (_cgi_fpm_exec_spawn.py
`worker_group`, _cgi_fpm_exec.py): a zombie child of the worker leads it and keeps its id;
each script joins it (not a session of its own) and is named to nobody per request; the end of
a request kills what the script left in it while the group lives on; a lost group (its leader
reaped) falls back to one group per script, named per request. Run by
exec-worker-units.test.ts; not shipped (the build skips *_test.py).
"""

import os
import signal
import time
import unittest

from _cgi_fpm_exec_spawn import worker_group
from exec_worker_test import PYTHON, Scripts, Server

# Reports its process group and session, and leaves a background child in its group.
REPORT = """#!PYTHON
import os, subprocess, sys
child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(PIDFILE, "w") as handle:
    handle.write(str(child.pid))
sys.stdout.write("Content-Type: text/plain\\n\\n%d %d" % (os.getpgid(0), os.getsid(0)))
"""


def _report(pidfile):
    return REPORT.replace("PYTHON", PYTHON, 1).replace("PIDFILE", repr(pidfile.decode()))


def _until(probe):
    """Waits for `probe()` to hold, bounded by a generous 10 s; returns its last value."""
    deadline = time.monotonic() + 10
    while not probe() and time.monotonic() < deadline:
        time.sleep(0.01)
    return probe()


def _state(pid):
    """The process's state letter in /proc (Z for a zombie), None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


class WorkerGroup(Scripts):
    def setUp(self):
        Scripts.setUp(self)
        self.group = worker_group()
        self.assertIsNotNone(self.group)

    def tearDown(self):
        try:
            os.waitpid(self.group, 0)
        except OSError:
            pass
        Scripts.tearDown(self)

    def test_the_leader_is_a_zombie_child_whose_group_stays(self):
        self.assertEqual(os.getpgid(self.group), self.group)
        self.assertTrue(_until(lambda: _state(self.group) == "Z"))
        with open("/proc/%d/stat" % self.group) as handle:
            self.assertEqual(int(handle.read().rsplit(")", 1)[1].split()[1]), os.getpid())

    def test_scripts_join_it_unnamed_and_their_leftovers_are_killed_at_the_end(self):
        server = Server(group=self.group)
        pidfile = os.path.join(self.dir, b"left.pid")
        server.run(self.script(b"r.sh", _report(pidfile)))
        pgid, sid = (int(v) for v in server.stdout().partition(b"\r\n\r\n")[2].split())
        self.assertEqual(pgid, self.group)
        self.assertEqual(sid, os.getsid(0))  # no session of its own
        self.assertEqual(server.groups, [])  # nothing named per request
        self.assertEqual(server.log.lines[-1][2]["status"], 200)
        with open(pidfile) as handle:
            left = int(handle.read())
        self.assertTrue(_until(lambda: _state(left) in (None, "Z")))
        self.assertEqual(_state(self.group), "Z")  # the group's id is still this worker's
        # A second request joins the same group.
        again = Server(group=self.group)
        again.run(self.script(b"r2.sh", _report(pidfile)))
        self.assertEqual(int(again.stdout().partition(b"\r\n\r\n")[2].split()[0]), self.group)

    def test_a_lost_group_falls_back_to_a_group_per_script_named_per_request(self):
        os.waitpid(self.group, 0)  # reaped: the id is free, nobody can join it
        server = Server(group=self.group)
        pidfile = os.path.join(self.dir, b"lost.pid")
        server.run(self.script(b"l.sh", _report(pidfile)))
        pgid, sid = (int(v) for v in server.stdout().partition(b"\r\n\r\n")[2].split())
        self.assertEqual(server.groups, [pgid])
        self.assertEqual(sid, pgid)
        self.assertIsNone(server.group)
        self.assertIn("cgi group lost", [m for _, m, _ in server.log.lines])
        self.assertEqual(server.log.lines[-1][2]["status"], 200)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    unittest.main()
