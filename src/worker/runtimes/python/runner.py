"""cgi-fpm's python runner: unmodified CGI scripts in a warm interpreter.

This file implements the `python` runtime's process from the perspective of its start: it
checks the python version, loads the runner's modules and the pool's preload, says hello on
the channel, and serves requests with one of two isolations:
  persistent  the scripts run in this process, which is put back after each request
              (_cgi_fpm_persistent; state.modules / state.globals choose what is kept);
  fork        each request runs in a fresh fork of this process (_cgi_fpm_fork).
Layers: _cgi_fpm_channel frames bytes to and from the worker; _cgi_fpm_script runs a script's
code whatever the transport; the rest is process state. Stdlib only, python >= 3.8; it never
imports cgi or cgitb (gone in 3.13), scripts do.

Started by the worker as:
  python3 [flags from the script's #! line] runner.py --isolation persistent|fork
          --modules reset|keep --globals reset|keep [--preload NAME,NAME]
with the channel on fd 3 (from the worker) and fd 4 (to the worker).
"""

import sys

if sys.version_info < (3, 8):
    version = sys.version.split()[0]
    sys.stderr.write("cgi-fpm runner: python >= 3.8 is required, this is %s\n" % version)
    sys.exit(2)

import faulthandler
import gc
import io
import os

_HERE = os.path.dirname(os.path.realpath(__file__))

OPTIONS = {
    "--isolation": ("persistent", "fork"),
    "--modules": ("reset", "keep"),
    "--globals": ("reset", "keep"),
}

# Each isolation's modules: only those of the pool's isolation are loaded (every module
# loaded before the first request is one more the persistent runner checks after each).
COMMON = ("_cgi_fpm_channel", "_cgi_fpm_script", "_cgi_fpm_stdio")
MODULES = {
    "persistent": COMMON
    + ("_cgi_fpm_noted", "_cgi_fpm_state")
    + ("_cgi_fpm_bindings", "_cgi_fpm_watch", "_cgi_fpm_leftovers", "_cgi_fpm_persistent"),
    "fork": COMMON + ("_cgi_fpm_noted", "_cgi_fpm_state", "_cgi_fpm_child", "_cgi_fpm_relay", "_cgi_fpm_fork"),
}


def _load_runner(isolation):
    """Imports the isolation's modules (no __pycache__ written beside them: an installed
    package may be read-only, a source tree must stay clean; scripts' modules get python's
    default behaviour), then takes the runner's own directory off sys.path: scripts get their
    own directory first. Returns the modules, and the real paths of their files (their frames
    are cut from the tracebacks scripts' authors read)."""
    write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        modules = [sys.modules[__name__]] + [__import__(name) for name in MODULES[isolation]]
    finally:
        sys.dont_write_bytecode = write_bytecode
    if sys.path and os.path.realpath(sys.path[0] or ".") == _HERE:
        del sys.path[0]
    return modules, frozenset(os.path.realpath(module.__file__) for module in modules)


def _parse_options(argv):
    options = {name: values[0] for name, values in OPTIONS.items()}
    options["--preload"] = ""
    for name, value in zip(argv[::2], argv[1::2]):
        if name == "--preload":
            options[name] = value
        elif name not in OPTIONS or value not in OPTIONS[name]:
            raise SystemExit("cgi-fpm runner: bad option %s %s" % (name, value))
        else:
            options[name] = value
    if len(argv) % 2:
        raise SystemExit("cgi-fpm runner: option %s without a value" % argv[-1])
    return options


def _preload(names):
    """Imports the pool's `preload` modules; a failure ends the runner before its hello, with
    the reason as the last line of its stderr (the worker reports it)."""
    for name in [name for name in names.split(",") if name]:
        try:
            __import__(name)
        except BaseException as error:
            raise SystemExit(
                "cgi-fpm runner: preload: cannot import %r: %s: %s"
                % (name, type(error).__name__, error)
            )


def _unbuffered():
    """True when python runs with -u (or PYTHONUNBUFFERED): its stdout has no buffer layer."""
    stdout = sys.__stdout__
    return stdout is not None and isinstance(getattr(stdout, "buffer", None), io.FileIO)


def main(argv):
    options = _parse_options(argv)
    isolation = options["--isolation"]
    modules, runner_files = _load_runner(isolation)
    by_name = {module.__name__: module for module in modules}
    channel_mod, script_mod = by_name["_cgi_fpm_channel"], by_name["_cgi_fpm_script"]
    # An interpreter crash (segfault, abort) leaves a python traceback in the log (fd 2).
    faulthandler.enable()
    signals = _startup_signals()
    if isolation == "persistent":
        _stack_dumps()
    _preload(options["--preload"])
    unbuffered = _unbuffered()
    script_run = script_mod.ScriptRun(runner_files, sys.excepthook, (channel_mod.ChannelClosed,))
    channel = channel_mod.Channel(3, 4)
    if isolation == "fork":
        child_mod, fork_mod = by_name["_cgi_fpm_child"], by_name["_cgi_fpm_fork"]
        cache = script_mod.CodeCache()
        child = child_mod.Child(script_run, signals, unbuffered, cache)
        server = fork_mod.ForkServer(channel, cache, child)
        # What the children inherit is never collected by them: no copy-on-write from the
        # collector touching the parent's objects in each child.
        gc.freeze()
    else:
        server = by_name["_cgi_fpm_persistent"].PersistentRunner(
            channel,
            script_run,
            options["--modules"] == "reset",
            options["--globals"] == "keep",
            unbuffered,
            modules,
        )
    # JSON by hand: importing json would add its modules to what every request is checked for.
    hello = b'{"pid":%d,"python":"%d.%d.%d"}' % ((os.getpid(),) + tuple(sys.version_info[:3]))
    channel.send(b"H", hello)
    server.serve_forever()
    return 0


# Where the supervisor's slow log asks for the running frame: SIGRTMIN + 5 (39 with glibc;
# src/supervisor/pool/python-stack.ts sends it), dumped by faulthandler into an unlinked file
# whose name starts with STACK_PREFIX, which the supervisor finds in /proc/PID/fd and reads.
STACK_PREFIX = "cgi-fpm-stack-"
_stack_fd = None


def _stack_dumps():
    """Registers the stack-dump signal (persistent isolation only: a forked child closes the
    parent's descriptors, and a dump to a reused descriptor would write into a script's file).
    No temp dir writable: no dumps, and the supervisor, finding no file, sends no signal."""
    global _stack_fd
    import signal

    # By hand, not tempfile: its modules would join what every request is checked for.
    path = os.path.join(os.environ.get("TMPDIR") or "/tmp", "%s%d" % (STACK_PREFIX, os.getpid()))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.unlink(path)
        faulthandler.register(signal.SIGRTMIN + 5, file=fd, all_threads=False)
        _stack_fd = fd
    except (OSError, ValueError, AttributeError, RuntimeError):
        os.close(fd)


def _startup_signals():
    """The handlers python set up at start (before any preload), for forked children."""
    import _signal

    return [
        (number, _signal.getsignal(number))
        for number in _signal.valid_signals()
        if number not in (_signal.SIGKILL, _signal.SIGSTOP) and number < _signal.NSIG
    ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
