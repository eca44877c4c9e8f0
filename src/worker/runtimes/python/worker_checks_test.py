"""Unit tests of the python worker's checks: the checked script file (as script-file.ts), the
inherited descriptors closed at start, the control channel's bounded lines. Run by
python-worker-units.test.ts with worker_test.py; not shipped (the build skips *_test.py).
"""

import os
import tempfile
import unittest

from _cgi_fpm_scriptfile import KeptScripts, Refused, open_script
from _cgi_fpm_shebang import ScriptInterpreters
from _cgi_fpm_fds import close_inherited_fds
import _cgi_fpm_ipc


class ScriptDir(unittest.TestCase):
    """A temporary root (its real path, bytes) and `write(name, text)` into it."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.root = os.path.realpath(self.dir.name).encode()

    def write(self, name, text):
        path = os.path.join(self.root, name)
        with open(path, "wb") as handle:
            handle.write(text)
        return path


class ScriptFile(ScriptDir):

    def test_the_resolved_file_is_opened_and_its_line_read_through_the_descriptor(self):
        path = self.write(b"s.py", b"#!/usr/bin/python3 -u\nprint()\n")
        fd, stat = open_script(path)
        try:
            self.assertTrue(os.get_inheritable(fd) is False)
            interpreters = ScriptInterpreters()
            self.assertEqual(interpreters.of(path, self.root, None, fd, stat), (b"/usr/bin/python3", [b"-u"]))
        finally:
            os.close(fd)

    def test_a_swapped_path_is_refused_with_the_reason_the_node_worker_gives(self):
        outside = self.write(b"outside.py", b"print()\n")
        link = os.path.join(self.root, b"link.py")
        os.symlink(outside, link)
        with self.assertRaises(Refused) as caught:
            open_script(link)
        self.assertEqual(caught.exception.status, 403)
        # A directory component swapped for a symlink: opened, but it names another file.
        os.mkdir(os.path.join(self.root, b"real"))
        self.write(b"real/x.py", b"print()\n")
        os.symlink(os.path.join(self.root, b"real"), os.path.join(self.root, b"dir"))
        with self.assertRaises(Refused) as caught:
            open_script(os.path.join(self.root, b"dir", b"x.py"))
        self.assertEqual(caught.exception.status, 403)
        self.assertTrue(caught.exception.reason.startswith("changed since it was resolved: the path now leads to "))
        with self.assertRaises(Refused) as caught:
            open_script(os.path.join(self.root, b"real"))
        self.assertEqual(caught.exception.reason, "changed since it was resolved: not a regular file")
        with self.assertRaises(Refused) as caught:
            open_script(os.path.join(self.root, b"gone.py"))
        self.assertEqual((caught.exception.status, caught.exception.reason), (404, "gone since it was resolved"))


class KeptScriptDescriptors(ScriptDir):
    """KeptScripts (script-descriptors.test.ts's cases): a kept descriptor is reused only while
    the path leads to the same version of the checked file; every change is checked afresh."""

    def setUp(self):
        super().setUp()
        self.kept = KeptScripts(limit=2)
        self.addCleanup(self.kept.close)

    def test_the_same_version_reuses_the_checked_descriptor(self):
        path = self.write(b"s.py", b"print()\n")
        fd, _ = self.kept.open(path)
        self.assertEqual(self.kept.open(path)[0], fd)
        self.assertEqual(len(self.kept), 1)

    def test_an_edited_file_is_opened_and_checked_again(self):
        path = self.write(b"s.py", b"print()\n")
        fd, stat = self.kept.open(path)
        self.write(b"s.py", b"print('longer')\n")
        fd2, stat2 = self.kept.open(path)
        self.assertNotEqual(stat.st_size, stat2.st_size)
        # The descriptor now kept is the new version's (the old one was closed: its number may
        # have been given to the new open).
        self.assertEqual(os.fstat(fd2).st_size, stat2.st_size)
        self.assertEqual(os.pread(fd2, 100, 0), b"print('longer')\n")

    def test_a_path_swapped_for_a_symlink_to_elsewhere_is_refused_on_the_next_request(self):
        path = self.write(b"s.py", b"print()\n")
        outside = self.write(b"outside.py", b"print()\n")
        self.kept.open(path)
        os.rename(path, os.path.join(self.root, b"old.py"))
        os.symlink(outside, path)
        with self.assertRaises(Refused) as caught:
            self.kept.open(path)
        self.assertEqual(caught.exception.status, 403)
        self.assertEqual(len(self.kept), 0)

    def test_a_vanished_file_is_refused_404(self):
        path = self.write(b"s.py", b"print()\n")
        self.kept.open(path)
        os.unlink(path)
        with self.assertRaises(Refused) as caught:
            self.kept.open(path)
        self.assertEqual(caught.exception.status, 404)

    def test_past_the_limit_the_least_recently_used_is_closed(self):
        a = self.write(b"a.py", b"a\n")
        b = self.write(b"b.py", b"b\n")
        c = self.write(b"c.py", b"c\n")
        fd_a, _ = self.kept.open(a)
        self.kept.open(b)
        self.kept.open(a)  # a is now the most recent: b goes first
        fd_b = self.kept.open(b)[0]
        self.kept.open(c)
        self.assertEqual(len(self.kept), 2)
        with self.assertRaises(OSError):
            os.fstat(fd_a)
        os.fstat(fd_b)


class InheritedFds(unittest.TestCase):
    def test_only_inheritable_descriptors_above_the_workers_own_are_closed(self):
        leaked = os.open(os.devnull, os.O_RDONLY)
        os.set_inheritable(leaked, True)
        own = os.open(os.devnull, os.O_RDONLY)  # not inheritable: python's own
        self.addCleanup(os.close, own)
        closed = close_inherited_fds(leaked - 1)
        self.assertIn(leaked, closed)
        self.assertNotIn(own, closed)
        os.fstat(own)
        with self.assertRaises(OSError):
            os.fstat(leaked)
        below = os.open(os.devnull, os.O_RDONLY)
        os.set_inheritable(below, True)
        self.addCleanup(os.close, below)
        self.assertNotIn(below, close_inherited_fds(below))


class ControlLines(unittest.TestCase):
    def test_lines_are_split_anywhere_bounded_and_checked(self):
        read_fd, write_fd = os.pipe()
        self.addCleanup(os.close, write_fd)
        ipc = _cgi_fpm_ipc.Ipc(read_fd)
        self.addCleanup(ipc.close)
        bound = _cgi_fpm_ipc.LINE_MAX_BYTES
        _cgi_fpm_ipc.LINE_MAX_BYTES = 40
        self.addCleanup(setattr, _cgi_fpm_ipc, "LINE_MAX_BYTES", bound)
        os.write(write_fd, b'{"type":"pool","n":1}\n{"type":"st')
        self.assertEqual(ipc.read_blocking(), {"type": "pool", "n": 1})
        os.write(write_fd, b'op"}\n' + b"x" * 50)
        self.assertEqual(ipc.read(), [{"type": "stop"}])
        self.assertTrue(ipc.skipping)
        os.write(write_fd, b'xx"}\nnot json\n[1]\n{"type":"stop"}\n')
        self.assertEqual(ipc.read(), [{"type": "stop"}])
        self.assertEqual(ipc.invalid, 3)
        os.set_blocking(read_fd, False)
        self.assertEqual(ipc.read(), [])



if __name__ == "__main__":
    unittest.main()
