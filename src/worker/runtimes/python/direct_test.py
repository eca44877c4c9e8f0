"""Unit tests of the python worker's direct accept (`dispatch = "direct"`): the accept loop on a
real listening unix socket, kept-alive connections, one request at a time, garbage, ping,
refusals, stop, pm.max_requests, descriptors kept from runners. The worker's runners are
replaced by a request that answers when the test says (direct_fakes_test.py); the scoreboard and
allowed_clients are direct_board_test.py's. Run by python-worker-units.test.ts; not shipped.
"""

import os
import socket
import tempfile
import unittest

from _cgi_fpm_fcgi import FCGI_END_REQUEST, FCGI_STDOUT, RecordParser
from direct_fakes_test import PARAMS, Ipc, Router, Worker, _without_ipc, pool, request_bytes


class DirectAccept(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "s.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.server.close()
        self.dir.cleanup()

    def worker(self, max_requests=0, **extra):
        fd = os.dup(self.server.fileno())
        os.set_inheritable(fd, True)
        worker = Worker(Ipc(), {"pool": pool(**extra), "maxRequests": max_requests}, "test", fd)
        worker.router = Router()
        worker.serve_channels = _without_ipc(worker)
        worker.serve_channels()
        self.addCleanup(worker.close_channels)
        return worker

    def connect(self):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path)
        c.settimeout(5)
        self.clients.append(c)
        return c

    def turn(self, worker, until, turns=200):
        for _ in range(turns):
            if until():
                return
            worker.loop.call_later(0.01, lambda: None)
            worker.loop.run_once()
        self.assertTrue(until(), "condition not reached")

    def read_response(self, worker, client):
        """Turns the worker's loop until `client` got an END_REQUEST; returns (stdout, closed after)."""
        parser, got, out = RecordParser(), [], []
        client.setblocking(False)

        def ended():
            try:
                data = client.recv(65536)
            except BlockingIOError:
                return False
            if data:
                for kind, _, content in parser.feed(data):
                    got.append(kind)
                    if kind == FCGI_STDOUT:
                        out.append(content)
            return FCGI_END_REQUEST in got

        self.turn(worker, ended)
        return b"".join(out)

    def test_accepts_serves_and_closes_a_connection_without_keep_conn(self):
        worker = self.worker()
        c = self.connect()
        c.sendall(request_bytes(1, PARAMS, b"body!"))
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        request = worker.made[0]
        self.turn(worker, lambda: request.body_bytes == b"body!")
        request.answer()
        self.assertIn(b"ok", self.read_response(worker, c))
        c.setblocking(True)
        self.turn(worker, lambda: not worker.clients)
        self.assertEqual(c.recv(10), b"")  # closed after END_REQUEST
        state = worker.board.state()
        self.assertEqual((state["accepted"], state["requests"], state["active"]), (1, 1, []))
        self.assertEqual(state["last"]["uri"], "/a.py")

    def test_a_body_not_all_read_gets_a_lingering_close_a_whole_one_a_plain_close(self):
        worker = self.worker()
        c = self.connect()
        partial = request_bytes(1, PARAMS, b"x" * 100)[:-8]  # no empty FCGI_STDIN: more is owed
        c.sendall(partial)
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        worker.made[0].answer()
        self.read_response(worker, c)
        self.turn(worker, lambda: all(client.closing for client in worker.clients))
        self.assertEqual(len(worker.clients), 1)  # half-closed, reading until the peer closes
        c.close()
        self.turn(worker, lambda: not worker.clients)
        whole = self.connect()
        whole.sendall(request_bytes(1, PARAMS, b"y" * 100))
        self.turn(worker, lambda: len(worker.made) == 2 and worker.made[1].pairs is not None)
        worker.made[1].answer()
        self.read_response(worker, whole)
        self.turn(worker, lambda: not worker.clients)  # closed at once, the peer still open

    def test_the_relay_params_are_set_after_resolution(self):
        worker = self.worker()
        c = self.connect()
        c.sendall(request_bytes(1, [(b"SCRIPT_FILENAME", b"/srv/a.py/more/path"), (b"SCRIPT_NAME", b"/a.py/more/path")]))
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        pairs = worker.made[0].pairs
        self.assertEqual(pairs[b"SCRIPT_FILENAME"], b"/srv/a.py")
        self.assertEqual(pairs[b"PATH_INFO"], b"/more/path")
        self.assertEqual(pairs[b"SCRIPT_NAME"], b"/a.py")

    def test_an_idle_kept_alive_connection_does_not_stop_accepting(self):
        worker = self.worker()
        kept = self.connect()
        kept.sendall(request_bytes(1, PARAMS, keep=True))
        self.turn(worker, lambda: len(worker.made) == 1 and worker.made[0].pairs is not None)
        worker.made[0].answer()
        self.read_response(worker, kept)
        other = self.connect()
        other.sendall(request_bytes(1, PARAMS))
        self.turn(worker, lambda: len(worker.made) == 2 and worker.made[1].pairs is not None)
        worker.made[1].answer()
        self.read_response(worker, other)
        kept.setblocking(True)
        kept.sendall(request_bytes(2, PARAMS, keep=True))
        self.turn(worker, lambda: len(worker.made) == 3 and worker.made[2].pairs is not None)
        worker.made[2].answer()
        self.read_response(worker, kept)
        self.assertEqual(worker.board.state()["accepted"], 2)

    def test_one_request_at_a_time_the_others_wait_in_their_sockets(self):
        worker = self.worker()
        first, second = self.connect(), self.connect()
        first.sendall(request_bytes(1, PARAMS))
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        second.sendall(request_bytes(1, PARAMS))
        for _ in range(20):
            worker.loop.call_later(0.005, lambda: None)
            worker.loop.run_once()
        self.assertEqual(len(worker.made), 1)  # neither accepted nor read while the first runs
        self.assertEqual(len(worker.board.state()["active"]), 1)
        worker.made[0].answer()
        self.read_response(worker, first)
        self.turn(worker, lambda: len(worker.made) == 2 and worker.made[1].pairs is not None)
        worker.made[1].answer()
        self.read_response(worker, second)

    def test_garbage_closes_that_connection_only(self):
        worker = self.worker()
        bad = self.connect()
        bad.sendall(b"GET / HTTP/1.0\r\n\r\n")
        bad.setblocking(True)
        self.turn(worker, lambda: any(line["msg"] == "protocol error" for line in worker.log.lines))
        self.assertEqual(bad.recv(10), b"")
        good = self.connect()
        good.sendall(request_bytes(1, PARAMS))
        self.turn(worker, lambda: worker.made and worker.made[-1].pairs is not None)
        worker.made[-1].answer()
        self.assertIn(b"ok", self.read_response(worker, good))

    def test_ping_and_refusals_are_answered_without_running_anything(self):
        worker = self.worker()
        c = self.connect()
        c.sendall(request_bytes(1, [(b"SCRIPT_NAME", b"/ping")]))
        out = self.read_response(worker, c)
        self.assertTrue(out.startswith(b"Status: 200 OK\r\nContent-Type: text/plain\r\n"))
        self.assertTrue(out.endswith(b"\r\n\r\npong"))
        c = self.connect()
        c.sendall(request_bytes(1, [(b"SCRIPT_FILENAME", b"/etc/passwd")]))
        self.assertTrue(self.read_response(worker, c).startswith(b"Status: 404"))
        line = [x for x in worker.log.lines if x["msg"] == "script not found"][0]
        self.assertEqual((line["script"], line["reason"]), ("/etc/passwd", "no such file"))
        self.assertTrue(all(r.pairs is None for r in worker.made))
        self.assertEqual(worker.board.state()["requests"], 2)

    def test_stop_finishes_the_running_request_closes_idle_connections_then_leaves(self):
        worker = self.worker()
        kept, running = self.connect(), self.connect()
        kept.sendall(request_bytes(1, PARAMS, keep=True))
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        worker.made[0].answer()
        self.read_response(worker, kept)
        running.sendall(request_bytes(1, PARAMS, keep=True))
        self.turn(worker, lambda: len(worker.made) == 2 and worker.made[1].pairs is not None)
        worker.leave()
        self.assertFalse(worker.accepting)
        kept.setblocking(True)
        self.assertEqual(kept.recv(10), b"")  # idle: closed at once (half-closed, then lingering)
        self.assertFalse(worker.closed)
        worker.made[1].answer()
        self.read_response(worker, running)
        kept.close()
        running.close()
        self.turn(worker, lambda: worker.closed)
        self.assertEqual(worker.ipc.sent[-1]["type"], "state")
        self.assertEqual(worker.ipc.sent[-1]["requests"], 2)

    def test_max_requests_stops_accepting_and_says_recycle(self):
        worker = self.worker(max_requests=2)
        for _ in range(2):
            c = self.connect()
            c.sendall(request_bytes(1, PARAMS))
            self.turn(worker, lambda: worker.made and worker.made[-1].pairs is not None and not worker.made[-1].over)
            worker.made[-1].answer()
            self.read_response(worker, c)
        self.assertFalse(worker.accepting)
        self.assertEqual(worker.ipc.sent[-1], {"type": "recycle", "reason": "max_requests", "rssBytes": 1})

    def test_a_client_gone_mid_request_aborts_it(self):
        worker = self.worker()
        c = self.connect()
        c.sendall(request_bytes(1, PARAMS))
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        c.close()
        self.turn(worker, lambda: worker.made[0].aborted)
        self.turn(worker, lambda: not worker.clients and worker.current is None)

    def test_no_descriptor_of_the_worker_is_inheritable(self):
        worker = self.worker()
        c = self.connect()
        c.sendall(request_bytes(1, PARAMS, keep=True))
        self.turn(worker, lambda: worker.made and worker.made[0].pairs is not None)
        self.assertFalse(os.get_inheritable(worker.listen_fd))
        for client in worker.clients:
            self.assertFalse(os.get_inheritable(client.sock.fileno()))


if __name__ == "__main__":
    unittest.main()
