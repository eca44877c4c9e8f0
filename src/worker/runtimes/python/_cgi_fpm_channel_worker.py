"""What the python worker's two roles share: one FastCGI channel and the control channel.

This file implements, from the perspective of a worker process the supervisor spawns (worker.py
for `python` pools, _cgi_fpm_exec_worker.py for `exec` pools), the part that does not depend on
how a request runs: the pool's settings read once, the FastCGI channel on fd 3 served one
request at a time through the responder role, `stop` on the control channel (leave after the
request in flight), the supervisor gone (the role's `orphaned`), and `pm.max_memory` checked
after each request. A role sets `request_class` and `memory_bytes`, and may extend `_close`.
Stdlib only.
"""

import os

from _cgi_fpm_connection import Connection
from _cgi_fpm_environ import EnvironmentBuilder
from _cgi_fpm_fcgi import ProtocolError
from _cgi_fpm_log import Logger
from _cgi_fpm_loop import ChildWatcher, Loop
from _cgi_fpm_responder import Responder

# The worker's FastCGI channel (src/worker/ipc.ts CHANNEL_FD).
CHANNEL_FD = 3


def rss_bytes(pid):
    """Resident memory of `pid` from /proc, in bytes (0 when unknown)."""
    try:
        with open("/proc/%d/statm" % pid, "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class ChannelWorker:
    """A worker's channels and the request in flight; `request_class(worker, request_id)` runs one."""

    request_class = None

    def __init__(self, ipc, message, server_software, inherited):
        pool = self.pool = message["pool"]
        self.ipc = ipc
        self.loop = Loop()
        self.log = Logger(message.get("logLevel", "info"), {"pool": pool["name"]}, 1, bool(message.get("pretty")))
        self.watcher = ChildWatcher(self.loop)
        self.environments = EnvironmentBuilder(
            pool.get("env") or {}, pool.get("clearEnv", True), inherited, server_software
        )
        self.forward_stderr = pool.get("stderr") == "forward"
        self.terminate_timeout = (pool.get("requestTerminateTimeoutMs") or 0) / 1000.0
        self.max_memory = (pool.get("pm") or {}).get("maxMemoryBytes") or 0
        self.current = None
        self.leaving = False
        self.connection = None
        self.responder = None

    def serve_channels(self):
        """Serves the FastCGI channel and reads the control channel (a `stop` sent early included)."""
        self.connection = Connection(self.loop, CHANNEL_FD, self._data, self.leave)
        self.responder = Responder(self, {"FCGI_MAX_CONNS": "1", "FCGI_MAX_REQS": "1"})
        os.set_blocking(self.ipc.fd, False)
        self.loop.add_reader(self.ipc.fd, self._ipc_readable)
        self._ipc_readable()

    def leave(self):
        """Finishes the request in flight, flushes the channel, then closes (exit 0)."""
        if self.leaving:
            return
        self.leaving = True
        if self.current is None:
            self._close()

    def _close(self):
        self.close_channels()
        self.loop.stop()

    def use_connection(self, connection):
        """The connection the request in flight reads from and writes to (a direct pool's
        worker switches it per request)."""
        self.connection = connection

    def close_channels(self):
        """Flushes (at most 1 s) and closes the FastCGI channel."""
        self.connection.close(1.0)

    def _ipc_readable(self):
        messages = self.ipc.read()
        if messages is None:
            self.orphaned()
            return
        for message in messages:
            self.control(message)

    def control(self, message):
        """One control message from the supervisor: `stop` (a role may answer more)."""
        if message.get("type") == "stop":
            self.leave()

    def _data(self, data):
        try:
            self.responder.push(data)
        except ProtocolError as error:
            self.log.error({"err": str(error)}, "protocol error")
            self.leave()

    # --- responder events ------------------------------------------------------------------

    def begin(self, request_id, keep_conn):
        self.current = self.request_class(self, request_id)
        return self.current

    def params(self, request, pairs):
        request.run(pairs)

    def stdin(self, request, content):
        request.body(content)

    def abort(self, request):
        request.abort()

    def reply(self, data):
        self.connection.write([data])

    def close(self):
        self.leave()

    # --- what a request reports ------------------------------------------------------------

    def request_ended(self, request):
        self.current = None
        self.responder.end(request.request_id)
        self.check_memory()
        if self.leaving:
            self._close()

    def check_memory(self):
        """`pm.max_memory`: asks to be recycled once past it (the supervisor then says stop)."""
        if self.max_memory > 0:
            total = self.memory_bytes()
            if total > self.max_memory:
                self.ipc.send({"type": "recycle", "reason": "max_memory", "rssBytes": total})
