"""One python worker's runners, one per interpreter.

This file implements, from the perspective of the python worker's request driver, what
python.ts's host and runner-slot.ts do for the standalone Node worker: the runner of the
pool's `python.executable` (the fallback, started before the worker says ready), a runner per
interpreter a script's `#!` line names (at most MAX_INTERPRETERS, the least recently used
closed), each replaced when it dies (at most once a second unless a request waits) or retires.
Stdlib only.
"""

import os
import time

from _cgi_fpm_log import text as _text
from _cgi_fpm_runners import MAX_INTERPRETERS, RESPAWN_INTERVAL, Runner, StartError

_monotonic = time.monotonic


def runner_environment(pool, inherited):
    """The runner's environment (bytes): the pool's `env`, over the worker's own environment
    when `clear_env = false`, so PYTHONPATH or TZ in the pool's env reach the interpreter."""
    env = {}
    if not pool.get("clearEnv", True):
        env.update(inherited)
    for name, value in (pool.get("env") or {}).items():
        env[name.encode("utf-8", "surrogateescape")] = value.encode("utf-8", "surrogateescape")
    return env


def runner_args(pool):
    """The runner's flags from the pool (`isolation`, `state.*`, `preload`)."""
    state = pool.get("state") or {}
    args = [
        b"--isolation", pool.get("isolation", "persistent").encode(),
        b"--modules", state.get("modules", "reset").encode(),
        b"--globals", state.get("globals", "reset").encode(),
    ]
    preload = pool.get("preload") or []
    if preload:
        args += [b"--preload", ",".join(preload).encode("utf-8")]
    return args


def find_executable(name, path_value):
    """`name` (bytes) as a path: a bare name looked up in `path_value`; not found: the name
    (its spawn then fails naming it)."""
    if b"/" in name or not path_value:
        return name
    for directory in path_value.split(b":"):
        if not directory:
            continue
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK) and os.path.isfile(candidate):
            return candidate
    return name


class Slot:
    """One interpreter's runner, replaced when it dies or retires."""

    def __init__(self, runners, executable, args):
        self._runners = runners
        self.executable = executable
        self.args = args
        self.runner = None
        self.last_start = -RESPAWN_INTERVAL
        self.last_used = 0.0
        self.closing = False
        self._respawn = None

    def ready(self):
        """The live runner (waiting for its hello if it is starting), or a new one (a request
        waits: no throttle). Raises StartError."""
        runner = self.runner
        if runner is not None and runner.alive and runner.retiring is None:
            if runner.hello is None:
                self._wait(runner)
            return runner
        if self._respawn is not None:
            self._respawn.cancel()
            self._respawn = None
        return self.start()

    def start(self):
        owner = self._runners
        self.last_start = _monotonic()
        runner = Runner(owner.loop, owner.watcher, owner.log, self.executable, self.args, owner.args, owner.env)
        self.runner = runner
        runner.when_ended(lambda: self._ended(runner))
        self._wait(runner)
        owner.log.debug(
            {"pythonPid": runner.pid, "python": runner.version, "executable": _text(self.executable)}, "python started"
        )
        return runner

    def _wait(self, runner):
        """Waits for `runner`'s hello with the worker's channel not read: records arriving
        meanwhile stay in order for the request loop (the wait runs the loop nested)."""
        hold = self._runners.hold
        if hold is not None:
            hold.hold()
        try:
            runner.wait_hello()
        except StartError:
            if self.runner is runner:
                self.runner = None
            raise
        finally:
            if hold is not None:
                hold.release()

    def close(self):
        self.closing = True
        if self._respawn is not None:
            self._respawn.cancel()
        if self.runner is not None:
            self.runner.close()

    def _ended(self, runner):
        if self.runner is not runner:
            return
        self.runner = None
        if self.closing or runner.hello != "":
            return  # closed, or it never started: the next request tries again
        owner = self._runners
        if runner.retiring is None:
            owner.log.warn({"pythonPid": runner.pid, "exitCode": runner.exit_code, "signal": runner.signal}, "python exited")
            wait = max(0.0, self.last_start + RESPAWN_INTERVAL - _monotonic())
        else:
            wait = 0.0
        self._respawn = owner.loop.call_later(wait, self._restart)

    def _restart(self):
        self._respawn = None
        if self.closing or self.runner is not None:
            return
        try:
            self.start()
        except StartError as error:
            # Not retried by itself: the next request tries again (and gets 502 if that fails).
            self._runners.log.error({"err": str(error)}, "python start failed")


class Runners:
    """The worker's slots by interpreter; `fallback` is `python.executable`'s."""

    def __init__(self, loop, watcher, log, pool, inherited):
        self.loop = loop
        self.watcher = watcher
        self.log = log
        self.args = runner_args(pool)
        self.env = runner_environment(pool, inherited)
        # The worker's channel (hold() / release()): not read while a runner starts.
        self.hold = None
        executable = find_executable(pool["python"]["executable"].encode("utf-8"), inherited.get(b"PATH"))
        self._slots = {}
        self.fallback = self._slot(executable, [])

    def slot(self, interpreter):
        if interpreter is None:
            slot = self.fallback
        else:
            slot = self._slot(interpreter[0], list(interpreter[1]))
        slot.last_used = _monotonic()
        return slot

    def runners(self):
        return [slot.runner for slot in self._slots.values() if slot.runner is not None]

    def close(self):
        for slot in self._slots.values():
            slot.close()

    def _slot(self, executable, args):
        key = (executable,) + tuple(args)
        slot = self._slots.get(key)
        if slot is not None:
            return slot
        if len(self._slots) >= MAX_INTERPRETERS:
            self._evict()
        slot = self._slots[key] = Slot(self, executable, args)
        return slot

    def _evict(self):
        candidates = [(slot.last_used, key) for key, slot in self._slots.items() if slot is not self.fallback]
        if candidates:
            key = min(candidates)[1]
            self._slots.pop(key).close()

