"""The checked file is the executed file: a script opened once and checked by the kernel.

This file implements, from the perspective of the python worker about to run the script its
supervisor resolved, what src/worker/script-file.ts `openScript` does for the Node worker: the
supervisor checked a real path under the pool's root, but between its check and this open a
component under the root can be swapped for a symlink to elsewhere (`renameat2(RENAME_EXCHANGE)`
in a loop: issue 10). So the path is opened once (never following a symlink in its last
component, never blocking on a FIFO swapped in) and the kernel asked what was opened
(`/proc/self/fd/N`): it must be that same path, a regular file. The worker reads the script's
`#!` line through that descriptor; the runner, a separate process, opens and checks the same
way before it reads the code (_cgi_fpm_script.CodeCache). Stdlib only.
"""

import errno
import os

# Flags of the open: read the script's head, no controlling tty, no symlink, no FIFO wait.
_O_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_PATH (Linux): names the file for execve(/proc/self/fd/N) without reading it.
_O_EXECUTE = getattr(os, "O_PATH", 0o10000000) | os.O_NOFOLLOW | os.O_CLOEXEC
_S_IFMT = 0o170000
_S_IFREG = 0o100000

_open = os.open
_close = os.close
_fstat = os.fstat
_readlink = os.readlink


class Refused(Exception):
    """The script is not the file that was resolved: `status` (403 or 404) and `reason` (text,
    logged with the event `script refused`, as script-file.ts words it)."""

    def __init__(self, status, reason):
        Exception.__init__(self, reason)
        self.status = status
        self.reason = reason


def open_script(path, execute=False):
    """Opens `path` (bytes, a real path as the supervisor resolved it) and checks that the
    kernel opened exactly it, a regular file. Returns (fd, stat); close the fd after the run.
    Raises Refused (the descriptor then closed)."""
    try:
        fd = _open(path, _O_EXECUTE if execute else _O_READ)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Refused(404, "gone since it was resolved")
        raise Refused(403, "cannot open: %s" % errno.errorcode.get(error.errno, str(error.errno)))
    try:
        opened = _readlink(b"/proc/self/fd/%d" % fd)
        if opened != path:
            raise Refused(
                403, "changed since it was resolved: the path now leads to %s" % opened.decode("utf-8", "replace")
            )
        stat = _fstat(fd)
        if stat.st_mode & _S_IFMT != _S_IFREG:
            raise Refused(403, "changed since it was resolved: not a regular file")
    except Refused:
        _close(fd)
        raise
    except OSError as error:
        _close(fd)
        raise Refused(403, "cannot check: %s" % error)
    return fd, stat


# How many checked descriptors a worker keeps open (src/worker/script-descriptors.ts's bound).
KEPT_SCRIPTS_MAX = 64
_stat = os.stat


def _same_version(a, b):
    """The same file in the same version: device, inode, size, mtime and ctime."""
    return (
        a.st_ino == b.st_ino
        and a.st_dev == b.st_dev
        and a.st_size == b.st_size
        and a.st_mtime_ns == b.st_mtime_ns
        and a.st_ctime_ns == b.st_ctime_ns
    )


class KeptScripts:
    """Checked script descriptors kept open across requests, as src/worker/script-descriptors.ts
    keeps them for the Node worker: `open_script` costs an open, a readlink of /proc/self/fd/N,
    an fstat and a close per request; a kept one costs one `stat` of the path. The same device,
    inode, size, mtime and ctime mean the path still leads to the file the descriptor was
    checked to be, unchanged (a rename, link, chmod or write sets ctime); anything else (a path
    swapped for a symlink to elsewhere, an edited, replaced or vanished file) drops the entry and
    opens and checks afresh, so every refusal of `open_script` happens on the request that meets
    the change. The least recently used descriptor is closed past `limit`."""

    def __init__(self, limit=KEPT_SCRIPTS_MAX):
        self._entries = {}
        self._limit = limit

    def open(self, path):
        """(fd, stat) of `path` checked; the fd stays owned here (do not close it). Raises
        Refused as `open_script` does."""
        entries = self._entries
        entry = entries.pop(path, None)
        if entry is not None:
            try:
                now = _stat(path)
            except OSError:
                now = None
            if now is not None and _same_version(entry[1], now):
                entries[path] = entry  # most recently used last
                return entry
            _close(entry[0])
        entry = open_script(path)
        entries[path] = entry
        if len(entries) > self._limit:
            oldest = next(iter(entries))
            _close(entries.pop(oldest)[0])
        return entry

    def __len__(self):
        return len(self._entries)

    def close(self):
        """Closes every kept descriptor."""
        for fd, _ in self._entries.values():
            try:
                _close(fd)
            except OSError:
                pass
        self._entries.clear()
