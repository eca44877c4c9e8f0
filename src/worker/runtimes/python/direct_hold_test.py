"""Unit tests of a direct request's held output (_cgi_fpm_direct_hold.HeldOutput): nothing
reaches the connection while the body is open, the script is never told to wait then, what is
held past HOLD_MEMORY_BYTES goes to a file, a release writes everything in order with the
connection's backpressure before later output and callbacks, and a drop discards it.
Run by python-worker-units.test.ts; not shipped.
"""

import os
import shutil
import tempfile
import unittest

from _cgi_fpm_direct_hold import HOLD_MEMORY_BYTES, HeldOutput


class FakeConnection:
    """A Connection whose peer takes bytes only when the test says (`drain`)."""

    def __init__(self, high_water=100_000):
        self.written = []
        self.pending = 0
        self.high_water = high_water
        self.drained = []
        self.closed = False
        self.paused = False

    @property
    def full(self):
        return self.pending >= self.high_water

    def write(self, buffers):
        for buffer in buffers:
            self.written.append(bytes(buffer))
            self.pending += len(buffer)

    def when_drained(self, callback):
        if self.full:
            self.drained.append(callback)
        else:
            callback()

    def when_flushed(self, callback):
        callback()

    def pause(self):
        self.paused = True

    def resume(self):
        self.paused = False

    def drain(self):
        self.pending = 0
        callbacks, self.drained = self.drained, []
        for callback in callbacks:
            callback()

    def data(self):
        return b"".join(self.written)


class HeldOutputTest(unittest.TestCase):
    def test_holds_everything_until_released_and_never_says_full(self):
        connection = FakeConnection(high_water=10)
        held = HeldOutput(connection)
        for i in range(50):
            held.write([b"x%02d" % i])
            self.assertFalse(held.full)
        self.assertEqual(connection.written, [])
        called = []
        held.when_drained(lambda: called.append("drained"))
        self.assertEqual(called, ["drained"])  # the script's output keeps flowing

    def test_spills_past_memory_and_releases_in_order_with_backpressure(self):
        connection = FakeConnection(high_water=64 * 1024)
        held = HeldOutput(connection)
        chunks = [bytes([i % 251]) * 10_000 for i in range(40)]  # 400 kB: spilled
        for chunk in chunks:
            held.write([memoryview(chunk)])
        self.assertIsNotNone(held._file)
        self.assertLessEqual(held._memory_bytes, HOLD_MEMORY_BYTES + 10_000)
        ended = []
        held.release_held(lambda: ended.append(True))
        # Backpressure: the release waits for the connection to drain, step by step.
        while not ended:
            self.assertTrue(connection.drained, "a release step must wait for a drain")
            self.assertTrue(held.full)
            held.write([b"late"])  # written during the release: after everything held
            connection.drain()
        self.assertFalse(held.holding)
        data = connection.data()
        expected = b"".join(chunks)
        self.assertEqual(data[: len(expected)], expected)
        self.assertEqual(set(data[len(expected):].split(b"late")), {b""})
        held.write([b"after"])
        self.assertTrue(connection.data().endswith(b"after"))

    def test_spills_into_the_configured_temp_path(self):
        # `fastcgi_temp_path` (the pool message's tempPath), not the system's temporary directory.
        temp = tempfile.mkdtemp()
        try:
            held = HeldOutput(FakeConnection(), temp)
            held.write([bytes(HOLD_MEMORY_BYTES + 1)])
            self.assertIsNotNone(held._file)
            where = os.readlink("/proc/self/fd/%d" % held._file.fileno())
            self.assertTrue(where.startswith(os.path.realpath(temp) + "/"), where)
            held.drop()
        finally:
            shutil.rmtree(temp)

    def test_release_with_nothing_held_passes_through_at_once(self):
        connection = FakeConnection()
        held = HeldOutput(connection)
        order = []
        held.release_held(lambda: order.append("then"))
        self.assertEqual(order, ["then"])
        held.write([b"direct"])
        self.assertEqual(connection.written, [b"direct"])
        held.release_held(lambda: order.append("again"))
        self.assertEqual(order, ["then", "again"])

    def test_flush_waiters_wait_for_the_release(self):
        connection = FakeConnection()
        held = HeldOutput(connection)
        held.write([b"head"])
        flushed = []
        held.when_flushed(lambda: flushed.append(connection.data()))
        self.assertEqual(flushed, [])
        held.release_held()
        self.assertEqual(flushed, [b"head"])

    def test_drop_discards_what_is_held(self):
        connection = FakeConnection()
        held = HeldOutput(connection)
        held.write([b"y" * (HOLD_MEMORY_BYTES + 1)])
        held.drop()
        self.assertIsNone(held._file)
        held.release_held()
        self.assertEqual(connection.written, [])

    def test_pause_and_resume_reach_the_connection(self):
        connection = FakeConnection()
        held = HeldOutput(connection)
        held.pause()
        self.assertTrue(connection.paused)
        held.resume()
        self.assertFalse(connection.paused)


if __name__ == "__main__":
    unittest.main()
