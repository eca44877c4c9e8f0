"""Unit tests of the python worker's direct accept (`dispatch = "direct"`): the accept loop on a
real listening unix socket, kept-alive connections, one request at a time, garbage, ping,
refusals, stop, pm.max_requests, descriptors kept from runners, allowed_clients and the
scoreboard. The worker's runners are replaced by a request that answers when the test says.
Run by python-worker-units.test.ts (`python3 -m unittest direct_test` here); not shipped.
"""

import os
import socket
import tempfile
import unittest

from _cgi_fpm_direct import DirectRole, split_script_name
from _cgi_fpm_direct_board import ClientFilter, Scoreboard, listen_text
from _cgi_fpm_fcgi import (
    FCGI_BEGIN_REQUEST,
    FCGI_END_REQUEST,
    FCGI_KEEP_CONN,
    FCGI_PARAMS,
    FCGI_REQUEST_COMPLETE,
    FCGI_STDIN,
    FCGI_STDOUT,
    RecordParser,
    encode_pairs,
    end_request,
    record,
    stream,
    stream_end,
)
from _cgi_fpm_loop import Loop


class Log:
    def __init__(self):
        self.lines = []

    def enabled(self, level):
        return True

    def _add(self, level, fields, msg):
        self.lines.append(dict(fields, level=level, msg=msg))

    def debug(self, fields, msg):
        self._add("debug", fields, msg)

    def info(self, fields, msg):
        self._add("info", fields, msg)

    def warn(self, fields, msg):
        self._add("warn", fields, msg)

    def error(self, fields, msg):
        self._add("error", fields, msg)


class Ipc:
    fd = -1

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return True


class Route:
    def __init__(self, ok, script_filename=b"", path_info=b"", status=200, event="", reason=""):
        self.ok, self.script_filename, self.path_info = ok, script_filename, path_info
        self.status, self.event, self.reason = status, event, reason


class Router:
    """Everything under /srv is a script (the rest of a path after `.py` its path-info); the rest is 404."""

    def resolve(self, script_filename, path_info):
        if not script_filename.startswith(b"/srv/"):
            return Route(False, status=404, event="script not found", reason="no such file")
        head, dot, tail = script_filename.partition(b".py")
        return Route(True, head + dot, tail + path_info)


class Request:
    """Stands for the runner's request: records what it was given, ends when `answer()` is called."""

    def __init__(self, server, request_id):
        self.server = server
        self.request_id = request_id
        self.script = b""
        self.pairs = None
        self.body_bytes = b""
        self.over = False
        self.aborted = False
        self.body_early = []
        server.made.append(self)

    def run(self, pairs):
        self.pairs = dict(pairs)
        self.script = self.pairs.get(b"SCRIPT_FILENAME", b"")

    def body(self, content):
        self.body_bytes += content

    def abort(self):
        self.aborted = True
        self.answer(b"")

    def fail(self, status, event, fields):
        self.answer(b"Status: %d\r\n\r\n" % status)

    def answer(self, data=b"Content-Type: text/plain\r\n\r\nok"):
        if self.over:
            return
        self.over = True
        connection = self.server.connection
        connection.write(stream(FCGI_STDOUT, self.request_id, data))
        connection.write([stream_end(FCGI_STDOUT, self.request_id), end_request(self.request_id, 0, FCGI_REQUEST_COMPLETE)])
        self.server.request_ended(self)


class Base:
    """What DirectRole expects of the ChannelWorker and Worker it is mixed into."""

    request_class = Request

    def __init__(self, ipc, message, server_software):
        self.pool = message["pool"]
        self.ipc = ipc
        self.loop = Loop()
        self.log = Log()
        self.current = None
        self.leaving = False
        self.connection = None
        self.responder = None
        self.runners = type("Runners", (), {"hold": None})()
        self.made = []
        self.closed = False

    def use_connection(self, connection):
        self.connection = connection

    def check_memory(self):
        pass

    def memory_bytes(self):
        return 1

    def orphaned(self):
        raise AssertionError("orphaned")

    def _close(self):
        self.close_channels()
        self.closed = True
        self.loop.stop()


class Worker(DirectRole, Base):
    pass


def pool(**extra):
    base = {
        "name": "py", "root": "/srv", "match": [], "scriptGlobs": [],
        "listen": {"address": {"kind": "unix", "path": "/x.sock"}, "maxConnections": 1000},
        "status": {"pingPath": "/ping", "pingResponse": "pong"},
    }
    base.update(extra)
    return base


def request_bytes(request_id, params, body=b"", keep=False):
    out = record(FCGI_BEGIN_REQUEST, request_id, bytes([0, 1, FCGI_KEEP_CONN if keep else 0, 0, 0, 0, 0, 0]))
    out += stream(FCGI_PARAMS, request_id, encode_pairs(params)) + [stream_end(FCGI_PARAMS, request_id)]
    out += stream(FCGI_STDIN, request_id, body) + [stream_end(FCGI_STDIN, request_id)]
    return b"".join(bytes(b) for b in out)


PARAMS = [(b"SCRIPT_FILENAME", b"/srv/a.py"), (b"SCRIPT_NAME", b"/a.py"), (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/a.py")]


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


def _without_ipc(worker):
    """serve_channels without the control channel (the test has none)."""

    def serve():
        os.set_inheritable(worker.listen_fd, False)
        worker.listener = socket.socket(fileno=worker.listen_fd)
        worker.listener.setblocking(False)
        worker.accepting = True
        worker._watch_listener()

    return serve


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
