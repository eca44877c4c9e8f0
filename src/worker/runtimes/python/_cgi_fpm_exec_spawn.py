"""How an `exec` pool's python worker starts one CGI script, without forking itself.

This file implements, from the perspective of the python worker of a `runtime = "exec"` pool
(RFC 3875 §7.2: one process per request, the script's directory as its working directory, the
request's meta-variables as its whole environment), what exec.ts, exec-command.ts and
script-file.ts do for the Node worker: the script opened once and checked to be the file the
supervisor resolved (issue 10: swap races), run through that descriptor (/proc/self/fd/3) when
a directory on its path is writable by others, else by its path; started with posix_spawn(3)
(glibc: clone(CLONE_VM|CLONE_VFORK), no copy of the worker's page tables) in the worker's one
process group for scripts (worker_group), stdin, stdout and stderr on pipes, the environment
and the file name as the exact bytes the web server sent, and no other descriptor (every
descriptor of the worker is close-on-exec). Stdlib only.
"""

import errno
import os
import _signal
import stat

# Where the child finds the checked descriptor when it runs through it.
SCRIPT_FD = 3
SCRIPT_FD_PATH = b"/proc/self/fd/3"
# O_PATH (Linux; os.O_PATH since python 3.4 on Linux): names the file without opening it for
# reading, all execve of /proc/self/fd/N needs.
_O_PATH = getattr(os, "O_PATH", 0o10000000)
_GROUP_OTHER_WRITE = 0o022


class Refused(Exception):
    """The script is not the file that was resolved: `status` (403/404) and `reason` to log."""

    def __init__(self, status, reason):
        Exception.__init__(self, reason)
        self.status = status
        self.reason = reason


def open_script(path):
    """Opens `path` (a real path, as the supervisor's realpath gave it) O_PATH|O_NOFOLLOW and
    checks the kernel opened exactly that path, a regular file. Returns the descriptor
    (close-on-exec); raises Refused (the descriptor closed) otherwise."""
    try:
        fd = os.open(path, _O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Refused(404, "gone since it was resolved")
        raise Refused(403, "cannot open: %s" % errno.errorcode.get(error.errno, str(error.errno)))
    try:
        opened = os.readlink(b"/proc/self/fd/%d" % fd)
        if opened != path:
            reason = "changed since it was resolved: the path now leads to %s" % opened.decode("utf-8", "replace")
            raise Refused(403, reason)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(403, "changed since it was resolved: not a regular file")
        return fd
    except OSError as error:
        os.close(fd)
        raise Refused(403, "cannot check: %s" % error)
    except Refused:
        os.close(fd)
        raise


def path_swap_safe(path):
    """True when nobody but root can change which file `path` names: every directory from `/`
    to the script's own is root's and writable by root only (a sticky directory counts when the
    entry under it is root's). script-file.ts `pathSwapSafe`, the same rule."""
    try:
        dir_stat = os.lstat(b"/")
    except OSError:
        return False
    current = b""
    for part in path.split(b"/"):
        if not part:
            continue
        current += b"/" + part
        try:
            entry_stat = os.lstat(current)
        except OSError:
            return False
        if dir_stat.st_uid != 0:
            return False
        if dir_stat.st_mode & _GROUP_OTHER_WRITE and not (dir_stat.st_mode & stat.S_ISVTX and entry_stat.st_uid == 0):
            return False
        dir_stat = entry_stat
    return True


def close_on_exec_all():
    """Marks every descriptor above 2 close-on-exec: a descriptor the worker inherited by
    accident (a shell's `exec 7<file`, a leaked socket) reaches no script (issue 10). Returns
    the descriptors changed."""
    changed = []
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return changed
    for name in names:
        fd = int(name)
        if fd <= 2:
            continue
        try:
            if os.get_inheritable(fd):
                os.set_inheritable(fd, False)
                changed.append(fd)
        except OSError:
            pass  # the listing's own descriptor, closed since
    return changed


def _defaulted_signals():
    """Signals a script must not inherit as ignored: python ignores SIGPIPE and SIGXFSZ, and
    whoever started the daemon may have ignored others (Node's spawn resets every one)."""
    found = set()
    for number in (getattr(_signal, "SIGPIPE", None), getattr(_signal, "SIGXFSZ", None)):
        if number is not None:
            found.add(number)
    for number in _signal.valid_signals():
        if number in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            if _signal.getsignal(number) == _signal.SIG_IGN:
                found.add(number)
        except (OSError, ValueError):
            pass
    return tuple(sorted(found))


_SIGDEF = _defaulted_signals()


def _home():
    """The worker's own directory, returned to after each spawn (`/` when the pool's user may
    not open the one it was started in)."""
    for path in (".", "/"):
        try:
            return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            pass
    return -1


_HOME = _home()


def worker_group():
    """The process group every script of this worker runs in, made once: a child that leads it
    and exits at once, never reaped. While the worker lives the zombie keeps the group id its
    own (no other process can get that pid) and the worker's next children may join it, so the
    supervisor checks and learns one group per worker instead of one per request (a message
    and a wake-up of the supervisor for each). Returns the pgid, or None (each script then
    leads its own session, as before)."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:
        try:
            os.setpgid(0, 0)
        finally:
            os._exit(0)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child did it first
    try:
        if os.getpgid(pid) == pid:
            return pid
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
    return None


def spawn(script, cwd, env, script_fd, stdin_fd, stdout_fd, stderr_fd, via_fd, pgroup=None):
    """Starts `script` (bytes) with no arguments (RFC 3875 §4.4), `env` (bytes to bytes) as its
    whole environment, in `cwd`, in process group `pgroup` (worker_group()'s), or without one
    as the leader of a new session; the three descriptors become its 0, 1, 2, and with `via_fd`
    the checked `script_fd` its 3 and the program /proc/self/fd/3. Returns the pid. Raises
    OSError (ENOENT, EACCES, a bad cwd, the group gone: the errno of chdir, setpgid or execve)
    or ValueError (a NUL byte in a name or value)."""
    program = SCRIPT_FD_PATH if via_fd else script
    actions = [
        (os.POSIX_SPAWN_DUP2, stdin_fd, 0),
        (os.POSIX_SPAWN_DUP2, stdout_fd, 1),
        (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
    ]
    if via_fd:
        actions.append((os.POSIX_SPAWN_DUP2, script_fd, SCRIPT_FD))
    # No chdir action before python 3.13: the worker is one thread, so it changes its own
    # directory around the spawn (two system calls) and the child inherits it.
    os.chdir(cwd)
    try:
        group = {"setsid": True} if pgroup is None else {"setpgroup": pgroup}
        return os.posix_spawn(program, [program], env, file_actions=actions, setsigdef=_SIGDEF, setsigmask=(), **group)
    finally:
        if _HOME >= 0:
            os.fchdir(_HOME)
