"""The worker of an `exec` pool, without a Node process.

This file implements, from the perspective of the process the supervisor spawns for a
`runtime = "exec"` pool (worker.py picks it by the pool's runtime; `exec.worker = "node"` keeps
src/worker/main.ts), what main.ts and serve.ts do there: read FastCGI requests on the channel
(fd 3) one at a time, run each as a CGI process (_cgi_fpm_exec.py) started with posix_spawn
(no fork of the worker) in one process group named to the supervisor once, leave when told to
stop (after the request in flight) and, when the supervisor is gone, kill the script's group
and exit.
A worker is ~9 MB of python where the Node worker is ~50 MB. Stdlib only.
"""

import os

from _cgi_fpm_channel_worker import ChannelWorker, rss_bytes
from _cgi_fpm_exec import ExecRequest
from _cgi_fpm_exec_spawn import close_on_exec_all, worker_group


class ExecWorker(ChannelWorker):
    """The worker: its channels and the request in flight."""

    request_class = ExecRequest
    # The process group of every script (worker_group), or None: each leads its own.
    group = None

    def __init__(self, ipc, message, server_software):
        super().__init__(ipc, message, server_software, dict(os.environb))
        self.kill_group_at_end = (self.pool.get("exec") or {}).get("killGroupAtEnd", True)

    def start(self):
        # Before any script starts: what this process inherited by accident reaches none.
        close_on_exec_all()
        # Every script runs in one group, named to the supervisor once (scope "worker"): no
        # message per request. Without it each script leads its own, named per request.
        self.group = worker_group()
        if self.group is not None:
            self.ipc.send({"type": "cgi-group", "requestId": 0, "pgid": self.group, "persistent": False, "scope": "worker"})
        self.serve_channels()
        return True

    def group_lost(self, error):
        """The scripts' group could not be joined (its id was freed: nothing of this worker should
        ever reap it): from now on each script leads its own group, named per request."""
        self.log.warn({"pgid": self.group, "err": str(error)}, "cgi group lost")
        self.group = None

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

    # --- what a request reports ------------------------------------------------------------

    def report_group(self, request_id, pgid):
        """Without the worker's group, each script's group is the request's own: the supervisor
        kills it should this worker die while the request runs."""
        self.ipc.send({"type": "cgi-group", "requestId": request_id, "pgid": pgid, "persistent": False})

    def memory_bytes(self):
        """`pm.max_memory`: this worker's resident memory (a script's is its own process's)."""
        return rss_bytes(os.getpid())
