"""The worker of an `exec` pool, without a Node process.

This file implements, from the perspective of the process the supervisor spawns for a
`runtime = "exec"` pool (worker.py picks it by the pool's runtime; `exec.worker = "node"` keeps
src/worker/main.ts), what main.ts and serve.ts do there: read FastCGI requests on the channel
(fd 3) one at a time, run each as a CGI process (_cgi_fpm_exec.py) started with posix_spawn
(no fork of the worker), report each script's process group, leave when told to stop (after
the request in flight) and, when the supervisor is gone, kill the script's group and exit.
A worker is ~9 MB of python where the Node worker is ~50 MB. Stdlib only.
"""

import os

from _cgi_fpm_connection import Connection
from _cgi_fpm_environ import EnvironmentBuilder
from _cgi_fpm_exec import ExecRequest
from _cgi_fpm_exec_spawn import close_on_exec_all
from _cgi_fpm_fcgi import ProtocolError
from _cgi_fpm_log import Logger
from _cgi_fpm_loop import ChildWatcher, Loop
from _cgi_fpm_responder import Responder

# The worker's FastCGI channel (src/worker/ipc.ts CHANNEL_FD).
CHANNEL_FD = 3


class ExecWorker:
    """The worker: its channels and the request in flight."""

    def __init__(self, ipc, message, server_software):
        pool = self.pool = message["pool"]
        self.ipc = ipc
        self.loop = Loop()
        self.log = Logger(message.get("logLevel", "info"), {"pool": pool["name"]}, 1, bool(message.get("pretty")))
        self.watcher = ChildWatcher(self.loop)
        self.environments = EnvironmentBuilder(
            pool.get("env") or {}, pool.get("clearEnv", True), dict(os.environb), server_software
        )
        self.forward_stderr = pool.get("stderr") == "forward"
        self.terminate_timeout = (pool.get("requestTerminateTimeoutMs") or 0) / 1000.0
        self.kill_group_at_end = (pool.get("exec") or {}).get("killGroupAtEnd", True)
        self.max_memory = (pool.get("pm") or {}).get("maxMemoryBytes") or 0
        self.current = None
        self.leaving = False
        self.connection = None
        self.responder = None

    def start(self):
        # Before any script starts: what this process inherited by accident reaches none.
        close_on_exec_all()
        self.connection = Connection(self.loop, CHANNEL_FD, self._data, self.leave)
        self.responder = Responder(self, {"FCGI_MAX_CONNS": "1", "FCGI_MAX_REQS": "1"})
        os.set_blocking(self.ipc.fd, False)
        self.loop.add_reader(self.ipc.fd, self._ipc_readable)
        self._ipc_readable()  # a stop that came before the loop ran
        return True

    def leave(self):
        """Finishes the request in flight, flushes the channel, then the loop stops (exit 0)."""
        if self.leaving:
            return
        self.leaving = True
        if self.current is None:
            self._close()

    def _close(self):
        self.connection.close(1.0)
        self.loop.stop()

    def orphaned(self):
        """The supervisor is gone (even kill -9): the script of the request in flight goes too."""
        current = self.current
        if current is not None and current.pid is not None:
            current.kill_now()
            try:
                os.waitpid(current.pid, 0)
            except OSError:
                pass
        os._exit(1)

    def _ipc_readable(self):
        messages = self.ipc.read()
        if messages is None:
            self.orphaned()
            return
        for message in messages:
            if message.get("type") == "stop":
                self.leave()

    def _data(self, data):
        try:
            self.responder.push(data)
        except ProtocolError as error:
            self.log.error({"err": str(error)}, "protocol error")
            self.leave()

    # --- Responder events ------------------------------------------------------------------

    def begin(self, request_id, keep_conn):
        self.current = ExecRequest(self, request_id)
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

    def report_group(self, request_id, pgid):
        """Each script's group is the request's own: the supervisor kills it should this worker
        die while the request runs."""
        self.ipc.send({"type": "cgi-group", "requestId": request_id, "pgid": pgid, "persistent": False})

    def request_ended(self, request):
        self.current = None
        self.responder.end(request.request_id)
        if self.max_memory > 0:
            rss = _rss_bytes()
            if rss > self.max_memory:
                self.ipc.send({"type": "recycle", "reason": "max_memory", "rssBytes": rss})
        if self.leaving:
            self._close()


def _rss_bytes():
    """This worker's resident memory, from /proc (0 when unknown)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
