"""Unit tests of the python direct worker's scoreboard, `listen.allowed_clients` filter, listen
address text and SCRIPT_NAME split (_cgi_fpm_direct_board, _cgi_fpm_environ). Run by
python-worker-units.test.ts; not shipped.
"""

import unittest

from _cgi_fpm_environ import split_script_name
from _cgi_fpm_direct_board import ClientFilter, Scoreboard, listen_text
from direct_fakes_test import Log


class Board(unittest.TestCase):
    def test_the_scoreboard_counts_and_cuts_long_fields(self):
        clock = [10.0]
        board = Scoreboard(lambda: clock[0])
        board.accepted += 1
        board.started([(b"REQUEST_METHOD", b"POST"), (b"REQUEST_URI", b"/" + b"u" * 1000), (b"SCRIPT_FILENAME", b"/s.py")])
        clock[0] = 10.25
        state = board.state()
        self.assertEqual(state["active"][0]["elapsedMs"], 250)
        self.assertEqual(len(state["active"][0]["uri"]), 512)
        clock[0] = 10.5
        self.assertEqual(board.ended(), 1)
        state = board.state()
        self.assertEqual((state["active"], state["last"]["durationMs"], state["last"]["method"]), ([], 500, "POST"))

    def test_allowed_clients_match_ranges_and_mapped_ipv4_and_log_once_a_minute(self):
        log, clock = Log(), [0.0]
        ranges = [{"family": "ipv4", "address": "127.0.0.0", "prefix": 8}, {"family": "ipv6", "address": "::1", "prefix": 128}]
        allowed = ClientFilter(ranges, "127.0.0.1:9000", log, lambda: clock[0])
        self.assertTrue(allowed.admit(("127.0.0.5", 4000)))
        self.assertTrue(allowed.admit(("::ffff:127.0.0.9", 4000, 0, 0)))
        self.assertTrue(allowed.admit(("::1", 4000, 0, 0)))
        self.assertFalse(allowed.admit(("10.0.0.1", 4000)))
        self.assertFalse(allowed.admit(("10.0.0.1", 4001)))
        self.assertFalse(allowed.admit(""))  # a unix peer has no address
        clock[0] = 61.0
        self.assertFalse(allowed.admit(("10.0.0.1", 4002)))
        refused = [x for x in log.lines if x["msg"] == "client refused" and x["remote"] == "10.0.0.1"]
        self.assertEqual([x["refusedSinceLastLog"] for x in refused], [0, 1])
        self.assertEqual(allowed.refused, 4)

    def test_listen_text_and_split_script_name(self):
        self.assertEqual(listen_text({"kind": "tcp", "host": "::1", "port": 9000}), "[::1]:9000")
        self.assertEqual(listen_text({"kind": "unix", "path": "/run/a.sock"}), "unix:/run/a.sock")
        self.assertEqual(split_script_name(b"/a.py/x", b"", b"/x"), b"/a.py")
        self.assertIsNone(split_script_name(b"/a.py", b"/x", b"/x"))
        self.assertIsNone(split_script_name(b"/x", b"", b"/x"))
        self.assertIsNone(split_script_name(None, b"", b"/x"))


if __name__ == "__main__":
    unittest.main()
