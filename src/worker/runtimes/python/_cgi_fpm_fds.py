"""Descriptors the python worker inherited by accident, closed before anything else runs.

This file implements, from the perspective of the python worker at its start, what
src/worker/inherited-fds.ts does for the Node worker: a descriptor whoever started the daemon
left open without close-on-exec (a shell's `exec 7<file`, a leaked socket) passes to the
supervisor, to every worker, and from there to every runner and script (posix_spawn closes
nothing it is not told to). Each such descriptor above the worker's own (0-2, the channel and
the control channel) is closed once, at start (issue 10). Stdlib only.
"""

import os


def close_inherited_fds(last_own_fd, fd_dir="/proc/self/fd"):
    """Closes every descriptor above `last_own_fd` that lacks close-on-exec (python's own are
    all close-on-exec). Returns the descriptors closed (none without /proc)."""
    closed = []
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return closed
    for name in names:
        try:
            fd = int(name)
        except ValueError:
            continue
        if fd <= 2 or fd <= last_own_fd:
            continue
        try:
            if not os.get_inheritable(fd):
                continue
            os.close(fd)
        except OSError:
            continue  # EBADF: the listing's own descriptor, already closed
        closed.append(fd)
    return closed
