"""Script resolution: may this SCRIPT_FILENAME run in this pool, and where.

This file implements, from the perspective of the python worker that accepts the web server's
connections itself (`dispatch = "direct"`), what src/cgi/script.ts `resolveScript` and
src/cgi/script-cache.ts do for the supervisor's router, rule for rule and in the same order:
Apache's proxy prefix (and its `?query`) stripped, bad bytes (NUL, CR, LF) 403, no path 404, a
relative path 403, the real path (its walk up for PATH_INFO, Apache's first-dot suffix), inside
the root, a regular file, the `match` globs (picomatch's own expressions, sent by the
supervisor: src/cgi/script-globs.ts), the executable bit. The same statuses, log events and
reason texts. Paths are bytes; only the glob match and the reason texts decode them. The real
path is the kernel's name of the file opened with O_PATH (`/proc/self/fd/N`), which costs an
open, a readlink, an fstat and a close where realpath(3) lstat()s every component. Stdlib only.
"""

import errno
import json
import os
import re
import time

_O_PATH = getattr(os, "O_PATH", 0o10000000) | os.O_CLOEXEC
_S_IFMT = 0o170000
_S_IFREG = 0o100000
_PROXY_PREFIX = re.compile(rb"(?i)proxy:(?:fcgi|balancer)://[^/]*")
_NOT_FOUND = (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG)
_DENIED = (errno.EACCES, errno.EPERM)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# A kept resolution: its longest SCRIPT_FILENAME + PATH_INFO, its age, how many per pool.
_MAX_KEPT_BYTES = 4096
_MAX_AGE_S = 1.0
_MAX_ENTRIES = 1024

_open = os.open
_close = os.close
_fstat = os.fstat
_readlink = os.readlink
_stat = os.stat
_access = os.access


class Route:
    """The outcome: `ok` with the real `script_filename` and the `path_info` (bytes), or the
    refusal: `status` 403/404, `event` ('script refused'/'script not found'), `reason` (text).
    An ok route has status 200 and empty event and reason."""

    __slots__ = ("ok", "script_filename", "path_info", "status", "event", "reason")

    def __init__(self, ok, script_filename=b"", path_info=b"", status=200, event="", reason=""):
        self.ok = ok
        self.script_filename = script_filename
        self.path_info = path_info
        self.status = status
        self.event = event
        self.reason = reason

    def __repr__(self):
        if self.ok:
            return "Route(ok, %r, %r)" % (self.script_filename, self.path_info)
        return "Route(%d, %r, %r)" % (self.status, self.event, self.reason)


def _refused(reason):
    return Route(False, status=403, event="script refused", reason=reason)


def _not_found(reason):
    return Route(False, status=404, event="script not found", reason=reason)


def _text(path):
    return path.decode("utf-8", "replace")


def strip_proxy_prefix(path):
    """Removes Apache's `proxy:fcgi://host[:port]` (or `proxy:balancer://name`) prefix and the
    `?query` after it, as script.ts `stripProxyPrefix`; any other path is returned as is."""
    if path[:1] not in (b"p", b"P"):
        return path
    prefix = _PROXY_PREFIX.match(path)
    if prefix is None:
        return path
    query = path.find(b"?", prefix.end())
    return path[prefix.end() : len(path) if query == -1 else query]


def real_path(path):
    """(real path, stat) of `path`, symlinks followed: the kernel's name of the file opened
    with O_PATH. Raises OSError as realpath(3) would (ENOENT, ENOTDIR, ELOOP, EACCES…)."""
    fd = _open(path, _O_PATH)
    try:
        return _readlink(b"/proc/self/fd/%d" % fd), _fstat(fd)
    finally:
        _close(fd)


def _classify(error, path):
    """The answer an OSError about `path` means; raises one that is not about the path."""
    if error.errno in _NOT_FOUND:
        return _not_found("no such file: %s" % _text(path))
    if error.errno in _DENIED:
        return _refused("permission denied: %s" % _text(path))
    if error.errno == errno.ELOOP:
        return _refused("symlink loop: %s" % _text(path))
    raise error


def _find(path, path_info):
    """(Route, stat or None): the real path of `path`, or of its longest leading part that is a
    regular file (the rest its PATH_INFO) when `path` does not exist and no PATH_INFO was sent;
    with a PATH_INFO that `path` ends with (Apache's proxy-fcgi-pathinfo=first-dot), that
    suffix alone is cut (script.ts `findScript`)."""
    repeats = bool(path_info) and len(path) > len(path_info) and path.endswith(path_info)
    candidate = path
    while True:
        try:
            real, stat = real_path(candidate)
        except OSError as error:
            cut = candidate.rfind(b"/") if not path_info else len(path) - len(path_info)
            walk = not path_info or (repeats and candidate is path)
            if error.errno not in (errno.ENOENT, errno.ENOTDIR) or not walk or cut <= 0:
                return _classify(error, path), None
            candidate = candidate[:cut]
            continue
        if candidate is path:
            return Route(True, real, path_info), stat
        if stat.st_mode & _S_IFMT != _S_IFREG:
            return _not_found("no such file: %s" % _text(path)), None
        return Route(True, real, path[len(candidate) :]), stat


def _inside(real, root):
    """`real` is `root` or below it; /srv/app2 is not inside /srv/app."""
    if not real.startswith(root):
        return False
    return len(real) == len(root) or root.endswith(b"/") or real[len(root) : len(root) + 1] == b"/"


def _js_text(text):
    """The text as JavaScript's strings hold it: an astral character as its two surrogates."""
    if not _ASTRAL.search(text):
        return text
    return _ASTRAL.sub(_surrogates, text)


def _surrogates(match):
    code = ord(match.group()) - 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def compile_globs(match, sources):
    """[(glob, compiled, basename)] of a pool's `match` list and the supervisor's `scriptGlobs`
    (picomatch's expressions in python's dialect, index for index). Raises ValueError naming
    the glob whose expression python cannot compile."""
    if sources is None or len(sources) != len(match):
        raise ValueError("script globs: the pool message has no scriptGlobs for match %s" % json.dumps(match))
    globs = []
    for glob, (source, basename) in zip(match, sources):
        try:
            globs.append((glob, re.compile(source, re.ASCII), bool(basename)))
        except re.error as error:
            raise ValueError("script globs: match glob %s: python cannot compile %s: %s" % (json.dumps(glob), source, error))
    return globs


def _basename(path):
    """picomatch's basename: the last segment, or the one before a trailing "/"."""
    segments = path.split("/")
    return segments[-1] if segments[-1] or len(segments) < 2 else segments[-2]


def _matches(globs, relative):
    """picomatch's test (picomatch.test): an input equal to the glob matches, an empty one never."""
    if not relative:
        return False
    whole = None
    for glob, regex, basename in globs:
        if relative == glob:
            return True
        if whole is None:
            whole = _js_text(relative)
        if regex.match(_basename(whole) if basename else whole):
            return True
    return False


def resolve_script(script_filename, path_info, rules):
    """script.ts `resolveScript`: a Route; raises the OSError that is not about the path."""
    path = strip_proxy_prefix(script_filename)
    for name, value in ((b"SCRIPT_FILENAME", path), (b"PATH_INFO", path_info)):
        if b"\0" in value or b"\r" in value or b"\n" in value:
            return _refused("bad bytes in path: %s %s" % (name.decode(), json.dumps(_text(value), ensure_ascii=False)))
    if not path:
        return _not_found("no SCRIPT_FILENAME")
    if path[:1] != b"/":
        return _refused("path not absolute: %s" % _text(path))
    found, stat = _find(path, path_info)
    if not found.ok:
        return found
    real = found.script_filename
    if not _inside(real, rules.root):
        return _refused("outside root %s: %s" % (rules.root_text, _text(real)))
    if stat.st_mode & _S_IFMT != _S_IFREG:
        return _refused("not a regular file: %s" % _text(real))
    start = len(rules.root) if rules.root.endswith(b"/") else len(rules.root) + 1
    if not _matches(rules.globs, _text(real[start:])):
        return _refused("not matched: %s (match %s)" % (_text(real), ", ".join(rules.match)))
    if rules.require_executable:
        if not _access(real, os.X_OK):
            # os.access hides its errno: a file gone meanwhile is told from a denial by a stat.
            try:
                _stat(real)
            except OSError as error:
                return _classify(error, real)
            return _refused("not executable: %s" % _text(real))
    return found


class Rules:
    """A pool's root (bytes and text), `match` globs compiled, executable bit required."""

    def __init__(self, pool):
        self.root_text = pool["root"]
        self.root = self.root_text.encode("utf-8")
        self.match = list(pool.get("match") or [])
        self.globs = compile_globs(self.match, pool.get("scriptGlobs"))
        self.require_executable = pool.get("requireExecutable", True) is not False


def _identity(stat):
    return (stat.st_ino, stat.st_ctime_ns, stat.st_mtime_ns, stat.st_size, stat.st_dev, stat.st_mode, stat.st_uid, stat.st_gid)


class Router:
    """Resolves a pool's requests, keeping answers as script-cache.ts `ScriptCache` does: only
    about a path that exists as sent (a success not split by the walk up, or a 403), for values
    of at most 4096 bytes together, at most 1024, none older than 1 s. Each holds the identity
    (device, inode, mode, owner, group, size, mtime, ctime) and the real path of the path as
    sent, both taken BEFORE the full resolution; a hit stats that path again (and, when the
    path as sent went through a symlink or `..`, resolves it again) and must find both equal.
    Raises ValueError at construction when a glob cannot be compiled."""

    def __init__(self, pool, clock=time.monotonic, max_entries=_MAX_ENTRIES):
        self.rules = Rules(pool)
        self._entries = {}
        self._clock = clock
        self._max_entries = max_entries

    def cached(self, script_filename, path_info):
        """The kept Route if it still holds (script-cache.ts `lookup`), else None."""
        key = (script_filename, path_info)
        entry = self._entries.get(key)
        if entry is None:
            return None
        route, path, real, canonical, identity, stored = entry
        if self._clock() - stored <= _MAX_AGE_S:
            try:
                now = _identity(_stat(path))
            except OSError:
                now = None
            if now == identity and (canonical or _real_or_none(path) == real):
                return route
        del self._entries[key]
        return None

    def resolve(self, script_filename, path_info):
        """The Route of this request (bytes as sent); raises an OSError that is not about the
        path (the caller answers 500)."""
        route = self.cached(script_filename, path_info)
        if route is not None:
            return route
        path = strip_proxy_prefix(script_filename)
        stored = self._clock()
        try:
            before = _identity(_stat(path))
        except (OSError, ValueError):
            before = None
        real = _real_or_none(path) if before is not None else None
        route = resolve_script(script_filename, path_info, self.rules)
        if real is None or len(script_filename) + len(path_info) > _MAX_KEPT_BYTES:
            return route
        # A success whose PATH_INFO is the one sent (no walk up) at the real path taken before.
        keep = route.path_info is path_info and route.script_filename == real if route.ok else route.status == 403
        if keep:
            self._keep((bytes(script_filename), bytes(path_info)), (route, bytes(path), real, real == path, before, stored))
        return route

    def _keep(self, key, entry):
        entries = self._entries
        entries.pop(key, None)
        if len(entries) >= self._max_entries:
            del entries[next(iter(entries))]
        entries[key] = entry


def _real_or_none(path):
    try:
        return real_path(path)[0]
    except (OSError, ValueError):
        return None
