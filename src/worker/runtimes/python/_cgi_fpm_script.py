"""Running one CGI script's code in the current process.

This file implements the script-execution layer of the runner, from the perspective of a
process whose environment, cwd, argv and standard streams are already the request's (the
persistent runner's state module or a forked child set them): the script's compiled code runs
as __main__, and its end is turned into an exit status the way python3 would (SystemExit, an
uncaught exception answered by the script's own sys.excepthook such as cgitb, or a plain 500
when nothing was sent). It knows nothing about frames, fds or the worker, so the same code
serves any transport. Stdlib only.
"""

import builtins
import os
import sys
from builtins import (
    BaseException,
    Exception,
    OSError,
    SystemExit,
    compile,
    exec,
    getattr,
    int,
    isinstance,
    PermissionError,
    len,
    open,
)

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

_open_fd = os.open
_close_fd = os.close
_fstat = os.fstat
_stat = os.stat
_read_fd = os.read
_readlink = os.readlink
_join_bytes = b"".join
_O_SCRIPT = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC
_S_IFMT = 0o170000
_S_IFREG = 0o100000
_EACCES = 13
_realpath = os.path.realpath
_ModuleType = type(sys)


class CodeCache:
    """Compiled scripts, keyed by path; recompiled when the file's mtime, size or inode change,
    so an edited script runs on its next request without a restart.
    """

    def __init__(self):
        self._entries = {}  # path -> ((mtime_ns, size, inode, device), checked stat key, code)

    def get(self, path):
        """Returns (code, changed): changed is True when the file was (re)compiled. Raises what
        python3 would raise before running the script (OSError, SyntaxError, ValueError).

        The file is opened once and the kernel asked what was opened (/proc/self/fd/N): it
        must be `path` itself (a real path, as the supervisor resolved it) and a regular file,
        so a directory or the file swapped for a symlink after the supervisor's check cannot
        make an outside script run (issue 10). Its version and code come from that descriptor.

        Once checked, a script costs one `stat` of its path per request (as the worker's
        KeptScripts and the Node worker's kept descriptors): the same device, inode, size,
        mtime and ctime as the checked file's mean the path still leads to that file,
        unchanged (a rename, link, chmod or write of that inode sets its ctime), so the code
        compiled from it is what runs; anything else opens and checks afresh.
        """
        entry = self._entries.get(path)
        if entry is not None:
            try:
                now = _stat(path)
            except OSError:
                now = None
            if now is not None and _stat_key(now) == entry[1]:
                return entry[2], False
        fd = _open_fd(path, _O_SCRIPT)
        try:
            opened = _readlink("/proc/self/fd/%d" % fd)
            if opened != path:
                raise PermissionError(_EACCES, "script changed since it was resolved: now " + opened, path)
            stat = _fstat(fd)
            if stat.st_mode & _S_IFMT != _S_IFREG:
                raise PermissionError(_EACCES, "script changed since it was resolved: not a regular file", path)
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_dev)
            if entry is not None and entry[0] == key:
                self._entries[path] = (key, _stat_key(stat), entry[2])
                return entry[2], False
            chunks = []
            chunk = _read_fd(fd, 1 << 20)
            while chunk:
                chunks.append(chunk)
                chunk = _read_fd(fd, 1 << 20)
        finally:
            _close_fd(fd)
        # Bytes, so a PEP 263 coding line is honoured as python3 would.
        code = compile(_join_bytes(chunks), path, "exec", dont_inherit=True)
        self._entries[path] = (key, _stat_key(stat), code)
        return code, True


def _stat_key(stat):
    """What one `stat` says of a checked file: the same key, the same file, unchanged."""
    return (stat.st_ino, stat.st_ctime_ns, stat.st_mtime_ns, stat.st_size, stat.st_dev, stat.st_mode)


class Namespaces:
    """The __main__ module each run executes in: new per request (state.globals = reset), or
    one per script kept across requests (keep) until the script changes.
    """

    def __init__(self, keep):
        self._keep = keep
        self._kept = {}  # path -> module

    def main_for(self, path, changed):
        if self._keep and not changed:
            module = self._kept.get(path)
            if module is not None:
                return module
        module = _ModuleType("__main__")
        module.__file__ = path
        module.__cached__ = None
        module.__builtins__ = builtins
        if self._keep:
            self._kept[path] = module
        return module


class ScriptRun:
    """Runs code as __main__ and returns the exit status python3 would end with.

    `runner_files` are the real paths of the runner's own files (their frames are cut from
    tracebacks), `default_hook` the sys.excepthook a script that did not set one has, `fatal`
    the exceptions that are the transport's failure, not the script's (they propagate).
    """

    def __init__(self, runner_files, default_hook, fatal):
        self._runner_files = runner_files
        self._default_hook = default_hook
        self._fatal = fatal

    def run(self, load, main_for, stdio):
        """`load()` returns (code, changed) or raises; `main_for(changed)` the namespace."""
        try:
            code, changed = load()
            main = main_for(changed)
            sys.modules["__main__"] = main
            exec(code, main.__dict__)
            return 0
        except SystemExit as stop:
            return exit_status(stop.code, stdio)
        except self._fatal:
            raise
        except BaseException:
            return self.uncaught(stdio)

    def uncaught(self, stdio):
        """An exception left the script: traceback to the log, and the script's own
        sys.excepthook (cgitb.enable()) answers, or a plain 500 if nothing was sent yet.
        """
        etype, value, tb = sys.exc_info()
        tb = self._script_frames(tb)
        stdio.log(_format_exception(etype, value, tb))
        hook = sys.excepthook
        if hook is not self._default_hook:
            call_hook(hook, (etype, value, tb), stdio)
        elif not stdio.output_sent():
            # Nothing left yet: what the script buffered is dropped for a clean 500.
            stdio.discard_output(flush_streams)
        if not stdio.output_sent():
            stdio.write_output(INTERNAL_ERROR)
        return 1

    def _script_frames(self, tb):
        while tb is not None and _realpath(tb.tb_frame.f_code.co_filename) in self._runner_files:
            tb = tb.tb_next
        return tb


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
        stdio.log("Error in sys.excepthook:\n" + _format_exception(*sys.exc_info()))
    flush_streams()
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


def _format_exception(etype, value, tb):
    """The traceback python3 prints; imported on demand (a rare path kept out of the baseline
    the persistent runner checks after every request).
    """
    try:
        import traceback

        return "".join(traceback.format_exception(etype, value, tb))
    except BaseException:  # a script broke the traceback module: say what we know
        return "%s: %s\n" % (getattr(etype, "__name__", etype), value)


def exit_status(code, stdio):
    """SystemExit's code as python3 turns it into a process exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    stdio.log("%s\n" % (code,))
    return 1


def flush_streams():
    """Flushes whatever sys.stdout / sys.stderr are now (the script may have wrapped ours)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # closed or detached by the script: nothing to flush
            pass
