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

from _cgi_fpm_channel_worker import ChannelWorker, rss_bytes
from _cgi_fpm_exec import ExecRequest
from _cgi_fpm_exec_spawn import close_on_exec_all


class ExecWorker(ChannelWorker):
    """The worker: its channels and the request in flight."""

    request_class = ExecRequest

    def __init__(self, ipc, message, server_software):
        super().__init__(ipc, message, server_software, dict(os.environb))
        self.kill_group_at_end = (self.pool.get("exec") or {}).get("killGroupAtEnd", True)

    def start(self):
        # Before any script starts: what this process inherited by accident reaches none.
        close_on_exec_all()
        self.serve_channels()
        return True

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
        """Each script's group is the request's own: the supervisor kills it should this worker
        die while the request runs."""
        self.ipc.send({"type": "cgi-group", "requestId": request_id, "pgid": pgid, "persistent": False})

    def memory_bytes(self):
        """`pm.max_memory`: this worker's resident memory (a script's is its own process's)."""
        return rss_bytes(os.getpid())
