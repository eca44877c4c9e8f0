"""The `#!` line of a CGI script: which interpreter runs it.

This file implements, from the perspective of a python pool's worker that runs each script
with the interpreter the script names (as the kernel would under CGI), what shebang.ts and
script-interpreters.ts do on the Node side for the standalone worker: the line's interpreter
path and its one optional argument (Linux passes the rest of the line as a single argument),
`/usr/bin/env NAME` (and `env -S`) resolved against the script's own PATH, the line read
again only when the file changes. Stdlib only.
"""

import os
import re

# Bytes of a script read for its `#!` line (Linux reads 256 since 5.1).
SHEBANG_MAX_BYTES = 256
# PATH searched when the script's environment has none (execvp's default).
DEFAULT_SEARCH_PATH = b"/bin:/usr/bin"

_PYTHON_NAME = re.compile(rb"(?:python|pypy)[0-9.]*(?:-dbg|d|m)?\Z")
_LINE = re.compile(rb"(\S+)(?:[ \t]+(.*?))?[ \t]*\Z")


class NotFound(Exception):
    """`#!/usr/bin/env NAME` found no NAME in the script's PATH (ENOENT, as under CGI)."""

    errno_name = "ENOENT"


def parse_shebang(head):
    """(path, arg or None) of the `#!` line at the start of `head` (bytes), or None."""
    if not head.startswith(b"#!"):
        return None
    line = re.split(rb"[\r\n]", head, 1)[0][2:].lstrip(b" \t")
    match = _LINE.match(line)
    if match is None:
        return None
    return match.group(1), (match.group(2) or None)


def is_python_name(program):
    return _PYTHON_NAME.match(os.path.basename(program)) is not None


def _is_executable_file(path):
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_mode & 0o170000) == 0o100000 and st.st_mode & 0o111 != 0


def resolve_shebang(shebang, cwd, path_value):
    """The interpreter (executable, args) for a parsed line, as bytes; None when the line
    names no python (the fallback runs the script). Raises NotFound for `env NAME` with no
    NAME in `path_value` (the script's PATH)."""
    if shebang is None:
        return None
    path, arg = shebang
    direct = os.path.join(cwd, path)
    if os.path.basename(direct) != b"env":
        if not is_python_name(direct):
            return None
        return direct, [] if arg is None else [arg]
    words = _env_words(arg)
    if not words or not is_python_name(re.split(rb"[ \t]", words[0], 1)[0]):
        return None
    program = words[0]
    searched = DEFAULT_SEARCH_PATH if path_value is None else path_value
    found = os.path.join(cwd, program) if b"/" in program else _search(program, searched, cwd)
    if found is None:
        raise NotFound(
            "#! names \"%s\", not found in PATH %s"
            % (program.decode("utf-8", "replace"), searched.decode("utf-8", "replace"))
        )
    return found, words[1:]


def _env_words(arg):
    if arg is None:
        return []
    split = re.match(rb"-S[ \t]*(.*)\Z", arg)
    if split is not None:
        return [word for word in re.split(rb"[ \t]+", split.group(1)) if word]
    return [arg]


def _search(program, path_value, cwd):
    for directory in path_value.split(b":"):
        candidate = os.path.join(os.path.join(cwd, directory) if directory else cwd, program)
        if _is_executable_file(candidate):
            return os.path.normpath(candidate)
    return None


class ScriptInterpreters:
    """The interpreter of each script by its `#!` line, read again only when the script's
    mtime, size or inode change."""

    def __init__(self):
        self._entries = {}

    def of(self, script, cwd, path_value, fd=None, stat=None):
        """(executable, args) as bytes, or None for the fallback; the line read from `fd` with
        its `stat` when given (the worker's checked descriptor: a path swapped since names
        nothing else). Raises NotFound."""
        return resolve_shebang(self._shebang(script, fd, stat), cwd, path_value)

    def _shebang(self, script, fd, st):
        if st is None:
            try:
                st = os.stat(script)
            except OSError:
                return None  # gone since it was resolved: the runner reports the missing file
        key = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)
        entry = self._entries.get(script)
        if entry is not None and entry[0] == key:
            return entry[1]
        try:
            if fd is not None:
                head = os.pread(fd, SHEBANG_MAX_BYTES, 0)
            else:
                with open(script, "rb") as handle:
                    head = handle.read(SHEBANG_MAX_BYTES)
        except OSError:
            head = b""
        shebang = parse_shebang(head)
        self._entries[script] = (key, shebang)
        return shebang
