"""isolation = "persistent": requests run one after another in the runner itself.

This file implements the persistent runner's request loop from the perspective of the process
that serves them: each request's script runs in this process with the request's environment
and streams (over frames to the worker), ends as a process would (atexit callbacks, the
namespace released), and then everything interpreter-wide it changed is put back, or, where
that cannot be done cheaply, the runner recycles itself: it answers the request, names the
reason in the DONE frame, and exits (its worker starts a fresh interpreter for the next one).
Stdlib only.
"""

import atexit
import os
import time
from builtins import frozenset, len, list

from _cgi_fpm_bindings import Bindings
from _cgi_fpm_channel import ChannelClosed, done_payload
from _cgi_fpm_leftovers import Leftovers
from _cgi_fpm_script import CodeCache, Namespaces, flush_streams
from _cgi_fpm_state import Baseline
from _cgi_fpm_stdio import BodyReader, RequestStdio, frame_sink
from _cgi_fpm_watch import Watch

_perf_ns = time.thread_time_ns
_getpid = os.getpid
_exit = os._exit
_run_exitfuncs = atexit._run_exitfuncs
_ncallbacks = atexit._ncallbacks
# The runner's own descriptors: /dev/null, its log pipes, the channel.
OWN_FDS = (0, 1, 2, 3, 4)


class PersistentRunner:
    """Serves the requests the worker sends, one at a time, until it closes the channel.

    `script_run` is the execution layer; `reset_modules` / `keep_globals` the state policies;
    `runner_modules` the runner's own modules (their bindings are checked too).
    """

    def __init__(self, channel, script_run, reset_modules, keep_globals, unbuffered, runner_modules):
        self.channel = channel
        self.script_run = script_run
        self.reset_modules = reset_modules
        self.keep_globals = keep_globals
        self.unbuffered = unbuffered
        self.cache = CodeCache()
        self.namespaces = Namespaces(keep_globals)
        self.state = Baseline()
        self.leftovers = Leftovers(OWN_FDS, reset_modules and not keep_globals)
        self.bindings = Bindings(runner_modules, (os.environ,))
        self.watch = Watch(frozenset(m.__file__ for m in runner_modules))
        self.pid = _getpid()

    def serve_forever(self):
        while True:
            try:
                script, cwd, env = self.channel.next_request()
            except ChannelClosed:
                return
            status, reasons, check_ns = self.serve(script, cwd, env)
            self.channel.send(b"D", done_payload(status, None, reasons, check_ns))
            self.channel.release()
            if reasons:
                # What the request left cannot be undone here: a fresh interpreter serves the
                # next one. os._exit: nothing of the script (threads, finalizers) runs again.
                _exit(0)

    def serve(self, script, cwd, env):
        """Runs one request; returns (exit status, recycle reasons, ns spent putting back)."""
        channel = self.channel
        stdio = RequestStdio(
            BodyReader(channel), frame_sink(channel, b"O"), frame_sink(channel, b"X"), self.unbuffered
        )
        mains = []

        def main_for(changed):
            mains.append(self.namespaces.main_for(script, changed))
            return mains[-1]

        status = 1
        try:
            self.state.enter(env, script, cwd, stdio)
            self.watch.quiet = False
            status = self.script_run.run(lambda: self.cache.get(script), main_for, stdio)
            self._end_like_a_process(mains)
        finally:
            self.watch.quiet = True
            channel.hold()
            flush_streams()
            if _getpid() != self.pid:
                # The script forked and this is the child coming back: end it as python would.
                _exit(status)
            stdio.close()
        started = _perf_ns()
        reasons = self._put_back()
        check_ns = _perf_ns() - started
        stdio.body.drain()
        return status, reasons, check_ns

    def _end_like_a_process(self, mains):
        """What a CGI process does when its script ends: the atexit callbacks the request
        registered run (output still goes to the response), and the namespace is released so
        its files are closed (state.globals = reset)."""
        if _ncallbacks():
            _run_exitfuncs()
        if not self.keep_globals:
            for main in mains:
                main.__dict__.clear()

    def _put_back(self):
        """Puts the interpreter back as it was before the request; returns the reasons it
        cannot be (then nothing is put back: the runner exits after the request)."""
        reason = self.leftovers.threads_left()
        if reason is not None:
            return [reason]
        functions, reasons = self.watch.take()
        if reasons:
            return reasons
        self.state.leave()
        dropped = [self.bindings.restore_modules(keep_new=not self.reset_modules)]
        if self.bindings.changed():
            taken, reasons = self.bindings.restore()
            dropped.append(taken)
        self.bindings.restore_functions(functions)
        reasons = list(reasons) + self.state.restore()
        self.state.restore_c_environ(self.watch.take_env_names())
        if len(dropped) > 1 or dropped[0]:
            # Finalizers of what the request left run now (script code: watched); they may
            # bind names again, so the bindings are checked once more.
            self.watch.quiet = False
            dropped = None
            self.watch.quiet = True
            late_functions, late = self.watch.take()
            reasons = list(reasons) + late
            self.bindings.restore_functions(late_functions)
            if self.bindings.changed():
                self.bindings.restore()
                if self.bindings.changed():
                    reasons.append("finalizers kept changing module bindings")
        return list(reasons) + self.leftovers.reasons()
