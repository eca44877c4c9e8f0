"""The stand-ins of the python direct worker's unit tests (direct_test.py, direct_board_test.py):
a log that keeps its lines, a control channel that keeps what was sent, a router and a request
that answer when the test says, the ChannelWorker part DirectRole is mixed into, and request
bytes. Not shipped (a *_test.py file).
"""

import os
import socket

from _cgi_fpm_direct import DirectRole
from _cgi_fpm_fcgi import (
    FCGI_BEGIN_REQUEST, FCGI_KEEP_CONN, FCGI_PARAMS, FCGI_REQUEST_COMPLETE, FCGI_STDIN, FCGI_STDOUT,
    encode_pairs, end_request, record, stream, stream_end,
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


def _without_ipc(worker):
    """serve_channels without the control channel (the test has none)."""

    def serve():
        os.set_inheritable(worker.listen_fd, False)
        worker.listener = socket.socket(fileno=worker.listen_fd)
        worker.listener.setblocking(False)
        worker.accepting = True
        worker._watch_listener()

    return serve
