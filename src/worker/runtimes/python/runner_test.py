"""Unit tests of the persistent runner's per-request shortcuts, each attacked: the environment
applied by difference (_cgi_fpm_state.apply_environ), descriptors left open counted through
/proc/self/fd's size (_cgi_fpm_leftovers), a checked script found again by one stat
(_cgi_fpm_script.CodeCache). Run by runner-modules.test.ts; not shipped (the build skips
*_test.py).
"""

import errno
import os
import tempfile
import unittest

import _cgi_fpm_leftovers
import _cgi_fpm_script
import _cgi_fpm_state
from _cgi_fpm_leftovers import Leftovers
from _cgi_fpm_script import CodeCache
from _cgi_fpm_state import apply_environ


class Environ(unittest.TestCase):
    """os.environ is exactly the request's, whatever the previous request did to it."""

    def setUp(self):
        saved = dict(os.environ)
        self.addCleanup(apply_environ, saved)
        self.first = {"A": "1", "B": "2", "QUERY_STRING": "a=1"}
        self.second = {"A": "1", "B": "3", "NEW": "x"}

    def assert_exactly(self, wanted):
        self.assertEqual(dict(os.environ), wanted)
        # The C environment too (what a subprocess inherits).
        for name, value in wanted.items():
            self.assertEqual(os.getenv(name), value)

    def test_consecutive_requests_by_difference(self):
        apply_environ(self.first)
        self.assert_exactly(self.first)
        self.assertIs(_cgi_fpm_state._applied[0], self.first)  # the shortcut is armed
        apply_environ(self.second)
        self.assert_exactly(self.second)
        apply_environ(self.first)
        self.assert_exactly(self.first)

    def test_a_variable_set_removed_or_changed_through_os_environ(self):
        for attack in (
            lambda: os.environ.__setitem__("LEAKED", "secret"),
            lambda: os.environ.pop("A"),
            lambda: os.environ.__setitem__("B", "2"),  # the same value, a new object
        ):
            apply_environ(self.first)
            attack()
            apply_environ(self.second)
            self.assert_exactly(self.second)

    def test_the_storage_changed_behind_os_environ(self):
        apply_environ(self.first)
        os.environ._data[b"LEAKED_RAW"] = b"secret"
        apply_environ(self.first)
        self.assert_exactly(self.first)
        os.environ._data[b"B"] = b"changed in place"
        apply_environ(self.first)
        self.assert_exactly(self.first)

    def test_the_storage_replaced(self):
        apply_environ(self.first)
        original = os.environ._data
        self.addCleanup(setattr, os.environ, "_data", original)
        os.environ._data = dict(original)
        os.environ._data[b"LEAKED_RAW"] = b"secret"
        apply_environ(self.first)
        self.assert_exactly(self.first)

    def test_a_variable_the_c_library_refuses_disarms_the_shortcut(self):
        apply_environ(dict(self.first, BAD="nul\0inside"))
        self.assertIsNone(_cgi_fpm_state._applied[0])
        self.assert_exactly(self.first)
        apply_environ(self.second)
        self.assert_exactly(self.second)


class OpenDescriptors(unittest.TestCase):
    """A descriptor a request leaves open is found, with or without the /proc count."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.path = os.path.join(self.dir.name, "secret.txt")
        with open(self.path, "w") as handle:
            handle.write("secret of request A")
        # A descriptor of the baseline that is not one of the runner's own (as its stack-dump file).
        self.extra = os.open(os.devnull, os.O_RDONLY)
        self.addCleanup(self.close_quietly, self.extra)
        self.leftovers = Leftovers((0, 1, 2), True)
        listings = []
        real = _cgi_fpm_leftovers._listdir
        self.addCleanup(setattr, _cgi_fpm_leftovers, "_listdir", real)
        _cgi_fpm_leftovers._listdir = lambda path: listings.append(path) or real(path)
        self.listings = listings

    @staticmethod
    def close_quietly(fd):
        try:
            os.close(fd)
        except OSError:
            pass

    def test_nothing_left_costs_no_listing(self):
        if self.leftovers.count < 0:
            self.skipTest("/proc/self/fd has no size on this kernel (< 6.2)")
        self.assertEqual(self.leftovers.reasons(), [])
        self.assertEqual(self.listings, [])

    def test_a_descriptor_left_open(self):
        fd = os.open(self.path, os.O_RDONLY)
        self.addCleanup(self.close_quietly, fd)
        self.assertEqual(self.leftovers.reasons(), ["file descriptor(s) %d left open" % fd])

    def test_a_baseline_descriptor_closed_and_one_left_open_under_another_number(self):
        # As many descriptors as before, but not the same ones: the count alone would miss it.
        os.close(self.extra)
        first = os.open(self.path, os.O_RDONLY)
        second = os.open(self.path, os.O_RDONLY)
        os.close(first)
        self.addCleanup(self.close_quietly, second)
        self.assertEqual(_cgi_fpm_leftovers._fd_count(), self.leftovers.count if self.leftovers.count >= 0 else 0)
        self.assertEqual(self.leftovers.reasons(), ["file descriptor(s) %d left open" % second])

    def test_a_baseline_descriptor_reopened_under_its_number_is_not_a_new_one(self):
        os.close(self.extra)
        again = os.open(self.path, os.O_RDONLY)
        self.addCleanup(self.close_quietly, again)
        self.assertEqual(again, self.extra)
        # As before this shortcut: the listing shows the same numbers.
        self.assertEqual(self.leftovers.reasons(), [])


class Scripts(unittest.TestCase):
    """The code that runs is the code of the file that was checked."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        root = os.path.realpath(self.dir.name)
        self.root = root
        for name in ("app", "outside", "twin"):
            os.mkdir(os.path.join(root, name))
        self.script = os.path.join(root, "app", "s.py")
        self.write(self.script, "inside")
        self.write(os.path.join(root, "outside", "s.py"), "outside")
        self.cache = CodeCache()
        self.calls = []
        for name in ("_stat", "_open_fd", "_readlink", "_fstat"):
            real = getattr(_cgi_fpm_script, name)
            self.addCleanup(setattr, _cgi_fpm_script, name, real)
            setattr(_cgi_fpm_script, name, self.counted(name, real))

    def counted(self, name, real):
        def call(*args):
            self.calls.append(name)
            return real(*args)
        return call

    @staticmethod
    def write(path, text):
        with open(path, "w") as handle:
            handle.write("WHO = %r\n" % text)

    def who(self):
        code, changed = self.cache.get(self.script)
        namespace = {}
        exec(code, namespace)
        return namespace["WHO"], changed

    def test_a_script_seen_before_costs_one_stat(self):
        self.assertEqual(self.who(), ("inside", True))
        self.calls.clear()
        self.assertEqual(self.who(), ("inside", False))
        self.assertEqual(self.calls, ["_stat"])

    def test_the_file_swapped_for_a_symlink_to_outside_is_refused(self):
        self.who()
        os.symlink(os.path.join(self.root, "outside", "s.py"), self.script + ".new")
        os.rename(self.script + ".new", self.script)
        with self.assertRaises(OSError) as raised:  # O_NOFOLLOW: ELOOP, as python3 on it
            self.who()
        self.assertEqual(raised.exception.errno, errno.ELOOP)

    def test_a_directory_swapped_for_a_symlink_to_outside_is_refused(self):
        self.who()
        os.rename(os.path.join(self.root, "app"), os.path.join(self.root, "old"))
        os.symlink(os.path.join(self.root, "outside"), os.path.join(self.root, "app"))
        with self.assertRaises(PermissionError) as raised:
            self.who()
        self.assertIn("script changed since it was resolved: now %s/outside/s.py" % self.root, str(raised.exception))

    def test_a_directory_swapped_for_one_holding_a_hard_link_runs_the_checked_code(self):
        # The same inode, unchanged since it was checked (linked before): its code is the
        # code that was checked, and no other file's runs.
        os.link(self.script, os.path.join(self.root, "twin", "s.py"))
        self.who()
        os.rename(os.path.join(self.root, "app"), os.path.join(self.root, "old"))
        os.symlink(os.path.join(self.root, "twin"), os.path.join(self.root, "app"))
        self.assertEqual(self.who(), ("inside", False))

    def test_an_edit_recompiles_and_a_chmod_checks_again_without_recompiling(self):
        self.who()
        self.write(self.script, "edited, longer")
        self.assertEqual(self.who(), ("edited, longer", True))
        os.chmod(self.script, 0o600)
        self.calls.clear()
        self.assertEqual(self.who(), ("edited, longer", False))
        self.assertEqual(self.calls, ["_stat", "_open_fd", "_readlink", "_fstat"])
        self.calls.clear()
        self.who()
        self.assertEqual(self.calls, ["_stat"])

    def test_a_file_gone_raises_as_python3_would(self):
        self.who()
        os.unlink(self.script)
        with self.assertRaises(FileNotFoundError):
            self.who()


if __name__ == "__main__":
    unittest.main()
