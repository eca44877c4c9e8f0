"""cgi-fpm's python worker: a python pool's worker process, without a Node process.

This file implements the worker of a `runtime = "python"` pool from the perspective of the
process the supervisor spawns for it (src/worker/main.ts is the Node worker of the other
runtimes): it closes the descriptors it inherited by accident, reads its pool's config on the
control channel (one JSON text per line, on the fd its first argument names:
src/worker/control-channel.ts), starts the runner of `python.executable`, says `ready`, then
reads FastCGI requests on its channel (fd 3) one at a time, runs each in the runner of the
interpreter the script's `#!` line names (runner.py, one per interpreter), and leaves when
told to stop or when the supervisor is gone, killing what its runners started. Its own code
never runs a script: scripts run in the runners, so nothing a script patches reaches it.
An `exec` pool's worker is this same program in its exec role (`_cgi_fpm_exec_worker.py`,
picked in main() by the pool's runtime): each request a CGI process started with posix_spawn.

Started by the supervisor (src/supervisor/pool/worker-command.ts) as:
  python3 -E -S -B worker.py CONTROL_FD SERVER_SOFTWARE [LISTEN_FD]
with the FastCGI channel on fd 3 and the control channel on fd CONTROL_FD; a `dispatch =
"direct"` pool's worker has no channel (CONTROL_FD is 3) and accepts on the pool's listening
socket, fd LISTEN_FD, itself (_cgi_fpm_direct.py). Stdlib only.
"""

import sys

if sys.version_info < (3, 8):
    sys.stderr.write("cgi-fpm worker: python >= 3.8 is required, this is %s\n" % sys.version.split()[0])
    sys.exit(2)

import errno
import os

# No __pycache__ beside an installed package (it may be read-only), as the runner does.
sys.dont_write_bytecode = True

from _cgi_fpm_channel_worker import CHANNEL_FD, ChannelWorker, rss_bytes  # noqa: E402
from _cgi_fpm_connection import tune_allocator  # noqa: E402
from _cgi_fpm_fds import close_inherited_fds  # noqa: E402
from _cgi_fpm_ipc import Ipc  # noqa: E402
from _cgi_fpm_pool import Runners  # noqa: E402
from _cgi_fpm_runners import StartError  # noqa: E402
from _cgi_fpm_serve import Request  # noqa: E402
from _cgi_fpm_scriptfile import KeptScripts  # noqa: E402
from _cgi_fpm_shebang import ScriptInterpreters  # noqa: E402

# How long a leaving worker waits for its runners to exit, in seconds.
LEAVE_GRACE = 3.0


class Worker(ChannelWorker):
    """The worker: its channels, its runners, the request in flight."""

    request_class = Request

    def __init__(self, ipc, message, server_software):
        inherited = dict(os.environb)
        super().__init__(ipc, message, server_software, inherited)
        self.interpreters = ScriptInterpreters()
        self.scripts = KeptScripts()
        self.runners = Runners(self.loop, self.watcher, self.log, self.pool, inherited)
        self.stop_requested = False
        self.reported_group = 0

    # --- start and leave -----------------------------------------------------------------

    def start(self):
        """Starts the fallback runner; False (start-failed sent) when it cannot start."""
        try:
            self.runners.fallback.start()
        except StartError as error:
            self.log.error({"err": str(error)}, "worker failed to start")
            self.ipc.send({"type": "start-failed", "message": str(error)})
            return False
        self.serve_channels()  # a stop that came while the runner started is read here
        self.runners.hold = self.connection
        return True

    def use_connection(self, connection):
        super().use_connection(connection)
        self.runners.hold = connection  # not read while a runner starts

    def _close(self):
        self.close_channels()
        runners = self.runners.runners()
        self.runners.close()
        left = [len([r for r in runners if r.alive])]

        def one_ended():
            left[0] -= 1
            if left[0] <= 0:
                self.loop.stop()

        for runner in runners:
            runner.when_ended(one_ended)
        if left[0] <= 0:
            self.loop.stop()
        self.loop.call_later(LEAVE_GRACE, self.loop.stop)

    def orphaned(self):
        """The supervisor is gone (even kill -9): nothing of ours may outlive it."""
        runners = self.runners.runners()
        for runner in runners:
            runner.kill()
        for runner in runners:
            try:
                os.waitpid(runner.pid, 0)  # reaped here: no zombie left in its group
            except OSError:
                pass
        os._exit(1)

    # --- what a request reports ------------------------------------------------------------

    def report_group(self, request_id, pgid):
        """A runner lives across requests: its group is reported when a request runs in another
        runner than the last one named (the supervisor kills every group named should this
        worker die, and reads the last one's CPU and memory for the status page, and its frames
        for the slow log)."""
        if pgid == self.reported_group:
            return
        self.reported_group = pgid
        self.ipc.send({"type": "cgi-group", "requestId": request_id, "pgid": pgid, "persistent": True})

    def spawn_failure(self, error):
        """403 `script refused` when the pool's user may not execute the interpreter, else 502."""
        if error.errno == errno.EACCES:
            user = self.pool.get("user")
            who = "user %s" % user["name"] if user else "the daemon's user"
            return 403, "script refused", {"reason": "not executable by %s" % who, "err": str(error)}
        return 502, "cgi spawn failed", {"err": str(error)}

    def request_ended(self, request):
        request.body_early = None
        super().request_ended(request)

    def memory_bytes(self):
        """`pm.max_memory`: this worker's resident memory and its runners'."""
        return rss_bytes(os.getpid()) + sum(runner.rss_bytes() for runner in self.runners.runners())


def direct_worker(role, listen_fd):
    """The worker of a `dispatch = "direct"` pool: the accept loop mixed into `role` (Worker,
    or ExecWorker for an `exec` pool)."""
    from _cgi_fpm_direct import DirectRole

    class DirectWorker(DirectRole, role):
        pass

    return lambda ipc, message, software: DirectWorker(ipc, message, software, listen_fd)


def main():
    ipc = Ipc.from_argument(sys.argv[1] if len(sys.argv) > 1 else "")
    listen_fd = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else -1
    # Before anything else opens a descriptor: what this process inherited beyond stdio and its
    # channels (and a direct pool's listening socket) must reach no runner and no script.
    close_inherited_fds(max(CHANNEL_FD, ipc.fd, listen_fd))
    if listen_fd > ipc.fd:
        try:
            os.set_inheritable(listen_fd, False)  # before the first runner is spawned
        except OSError:
            listen_fd = -1
    tune_allocator()
    message = ipc.read_blocking()
    if message is None or message.get("type") != "pool":
        return 1
    umask = message["pool"].get("umask")
    if umask is not None:
        os.umask(umask)
    make = Worker
    if message["pool"].get("runtime") == "exec":
        # An `exec` pool's worker runs each request as a CGI process: _cgi_fpm_exec_worker.py.
        from _cgi_fpm_exec_worker import ExecWorker as make
    if message["pool"].get("dispatch") == "direct":
        if listen_fd <= ipc.fd:
            ipc.send({"type": "start-failed", "message": "dispatch = \"direct\": no listening socket given"})
            return 1
        make = direct_worker(make, listen_fd)
    worker = make(ipc, message, sys.argv[2] if len(sys.argv) > 2 else "cgi-fpm")
    if not worker.start():
        return 1
    worker.ipc.send({"type": "ready"})
    worker.loop.run()
    ipc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
