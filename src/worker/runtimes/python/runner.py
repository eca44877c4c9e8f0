"""cgi-fpm's python runner: unmodified CGI scripts kept in memory.

This file implements the `python` runtime from the perspective of the persistent python3
process a cgi-fpm worker starts once: it says hello, then for each request runs the script's
cached code object as __main__ in a process that looks like a fresh CGI process
(_cgi_fpm_state), with the body, the response and the log streamed over the channel
(_cgi_fpm_stdio, _cgi_fpm_channel), and reports how the script ended. Stdlib only,
python >= 3.8; it never imports cgi or cgitb (gone in 3.13), scripts do.

Started by the worker as:  python3 runner.py --modules reset|keep --globals reset|keep
with the channel on fd 3 (from the worker) and fd 4 (to the worker).
"""

import sys

if sys.version_info < (3, 8):
    version = sys.version.split()[0]
    sys.stderr.write("cgi-fpm runner: python >= 3.8 is required, this is %s\n" % version)
    sys.exit(2)

import faulthandler
import os
import traceback

# The runner's own modules: no __pycache__ written beside them (an installed package may be
# read-only, a source tree must stay clean); scripts' modules get python's default behaviour.
_write_bytecode = sys.dont_write_bytecode
sys.dont_write_bytecode = True
import _cgi_fpm_channel  # noqa: E402
import _cgi_fpm_state  # noqa: E402
import _cgi_fpm_stdio  # noqa: E402
from _cgi_fpm_channel import Channel, ChannelClosed  # noqa: E402
from _cgi_fpm_state import Baseline, CodeCache, Namespaces, drop_modules_since  # noqa: E402
from _cgi_fpm_stdio import RequestStdio  # noqa: E402

sys.dont_write_bytecode = _write_bytecode

# The runner's own directory is no script's business: scripts get their own directory first.
_HERE = os.path.dirname(os.path.realpath(__file__))
if sys.path and os.path.realpath(sys.path[0] or ".") == _HERE:
    del sys.path[0]

# Frames of these files are cut from the tracebacks scripts' authors read.
_RUNNER_MODULES = (sys.modules[__name__], _cgi_fpm_channel, _cgi_fpm_state, _cgi_fpm_stdio)
_RUNNER_FILES = frozenset(os.path.realpath(module.__file__) for module in _RUNNER_MODULES)

# The answer to an uncaught exception when the script sent nothing yet (details go to the log).
INTERNAL_ERROR = (
    b"Status: 500 Internal Server Error\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
    b"<body><h1>Internal Server Error</h1>\n"
    b"<p>The script failed; the details are in the server log.</p></body></html>\n"
)


# The first line of cgitb.reset(): an HTML comment opener posing as a header line.
CGITB_MARKERS = (b"<!--: spam\r\n", b"<!--: spam\n")


class Runner:
    """Serves the requests the worker sends, one at a time, until it closes the channel."""

    def __init__(self, channel, reset_modules, keep_globals):
        self.channel = channel
        self.baseline = Baseline()
        self.cache = CodeCache()
        self.namespaces = Namespaces(keep_globals)
        self.reset_modules = reset_modules
        self.pid = os.getpid()

    def serve_forever(self):
        while True:
            try:
                head = self.channel.next_request()
            except ChannelClosed:
                return
            status = self.serve(head["script"], head["cwd"], head["env"])
            self.channel.send_json(b"D", {"exit": status})
            self.channel.release()

    def serve(self, script, cwd, env):
        """Runs one request and puts the process back as it was; returns the exit status."""
        stdio = RequestStdio(self.channel)
        before = set(sys.modules) if self.reset_modules else None
        status = 1
        try:
            status = self.run(script, cwd, env, stdio)
        finally:
            self.channel.hold()
            _flush_streams()
            if os.getpid() != self.pid:
                # The script forked and this is the child coming back: end it as python would.
                os._exit(status)
            stdio.close()
            self.baseline.restore()
            if before is not None:
                drop_modules_since(before)
            stdio.body.drain()
        return status

    def run(self, script, cwd, env, stdio):
        try:
            self.baseline.enter(env, script, cwd, stdio)
            code, changed = self.cache.get(script)
            main = self.namespaces.main_for(script, changed)
            sys.modules["__main__"] = main
            exec(code, main.__dict__)
            return 0
        except SystemExit as stop:
            return _exit_status(stop.code, stdio)
        except ChannelClosed:
            raise
        except BaseException:
            return self.uncaught(stdio)

    def uncaught(self, stdio):
        """An exception left the script: traceback to the log, and the script's own
        sys.excepthook (cgitb.enable()) answers, or a plain 500 if nothing was sent yet.
        """
        etype, value, tb = sys.exc_info()
        tb = _script_frames(tb)
        stdio.log("".join(traceback.format_exception(etype, value, tb)))
        hook = sys.excepthook
        if hook is not self.baseline.excepthook:
            self.call_hook(hook, (etype, value, tb), stdio)
        elif not stdio.output_sent():
            # Nothing left yet: what the script buffered is dropped for a clean 500.
            stdio.discard_output(_flush_streams)
        if not stdio.output_sent():
            stdio.write_output(INTERNAL_ERROR)
        return 1

    @staticmethod
    def call_hook(hook, exc_info, stdio):
        """Lets the script's excepthook write its page. When it is the whole response, the
        first line of cgitb's reset() (`<!--: spam`, a header line only lenient gateways
        accept) is cut, so the page comes out under cgi-fpm's strict CGI head parser too.
        """
        whole = not stdio.output_sent()
        if whole:
            stdio.capture_output()
        try:
            hook(*exc_info)
        except BaseException:
            stdio.log("Error in sys.excepthook:\n" + traceback.format_exc())
        _flush_streams()
        if not whole:
            stdio.flush_output()
            return
        page = stdio.captured_output()
        for marker in CGITB_MARKERS:
            if page.startswith(marker):
                page = page[len(marker) :]
                break
        if page:
            stdio.write_output(page)


def _exit_status(code, stdio):
    """SystemExit's code as python3 turns it into a process exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    stdio.log("%s\n" % (code,))
    return 1


def _script_frames(tb):
    while tb is not None and os.path.realpath(tb.tb_frame.f_code.co_filename) in _RUNNER_FILES:
        tb = tb.tb_next
    return tb


def _flush_streams():
    """Flushes whatever sys.stdout / sys.stderr are now (the script may have wrapped ours)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # closed or detached by the script: nothing to flush
            pass


def _parse_options(argv):
    options = {"--modules": "reset", "--globals": "reset"}
    for name, value in zip(argv[::2], argv[1::2]):
        if name not in options or value not in ("reset", "keep"):
            raise SystemExit("cgi-fpm runner: bad option %s %s" % (name, value))
        options[name] = value
    return options


def main(argv):
    options = _parse_options(argv)
    # An interpreter crash (segfault, abort) leaves a python traceback in the log (fd 2).
    faulthandler.enable()
    channel = Channel(3, 4)
    runner = Runner(channel, options["--modules"] == "reset", options["--globals"] == "keep")
    channel.send_json(b"H", {"pid": os.getpid(), "python": "%d.%d.%d" % sys.version_info[:3]})
    runner.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
