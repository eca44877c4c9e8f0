"""The RFC 3875 meta-variables a CGI script sees, as bytes.

This file implements, from the perspective of the python worker turning one FastCGI request
into the environment of one script run, what src/cgi/environment.ts does on the Node side
(the same precedence and the same drops): a request's values stay the bytes the web server
sent (execve takes bytes); the daemon's and the pool's are text, encoded UTF-8 once. Pure.
Stdlib only. See RFC 3875 §4.1 (request meta-variables), §4.1.18 (protocol variables).
"""

GATEWAY_INTERFACE = b"CGI/1.1"

# Never exported from any source: a client's `Proxy:` header (httpoxy, CVE-2016-5385).
_NEVER = frozenset((b"HTTP_PROXY",))
# Set "if and only if" a body is attached (RFC 3875 §4.1.2, §4.1.3): dropped when empty.
_UNSET_WHEN_EMPTY = frozenset((b"CONTENT_LENGTH", b"CONTENT_TYPE"))
# The request meta-variables of RFC 3875 §4.1: with HTTP_* they win over the pool's env.
_META = frozenset(
    name.encode("ascii")
    for name in (
        "AUTH_TYPE CONTENT_LENGTH CONTENT_TYPE GATEWAY_INTERFACE PATH_INFO PATH_TRANSLATED "
        "QUERY_STRING REMOTE_ADDR REMOTE_HOST REMOTE_IDENT REMOTE_USER REQUEST_METHOD "
        "SCRIPT_NAME SERVER_NAME SERVER_PORT SERVER_PROTOCOL SERVER_SOFTWARE"
    ).split()
)


def _exportable(name, value):
    return name and name not in _NEVER and b"=" not in name and b"\0" not in name and b"\0" not in value


def _encoded(variables):
    """A text mapping as bytes (UTF-8), without what no environment can hold."""
    out = {}
    for name, value in variables.items():
        if isinstance(name, str):
            name = name.encode("utf-8", "surrogateescape")
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        if _exportable(name, value):
            out[name] = value
    return out


class EnvironmentBuilder:
    """One pool's environments. `pool_env` is the pool's `env` (text), `inherited` the
    worker's own environment (bytes or text), seen by scripts when `clear_env` is false."""

    def __init__(self, pool_env, clear_env, inherited, server_software):
        self._base = {} if clear_env else _encoded(inherited)
        self._pool = _encoded(pool_env)
        self._software = server_software.encode("utf-8")

    def build(self, pairs, script_filename):
        """The whole environment of one run (bytes to bytes). Precedence, lowest first: the
        inherited environment, params that are not meta-variables (Apache's PATH), the pool's
        env, the request's meta-variables (and HTTP_*), then GATEWAY_INTERFACE,
        SERVER_SOFTWARE and SCRIPT_FILENAME. A param whose name is not US-ASCII is dropped; a
        later duplicate wins."""
        env = dict(self._base)
        meta = []
        for name, value in pairs:
            if not name.isascii():
                continue
            if name in _META or name.startswith(b"HTTP_"):
                meta.append((name, value))
            elif _exportable(name, value):
                env[name] = value
        env.update(self._pool)
        for name, value in meta:
            if not value and name in _UNSET_WHEN_EMPTY:
                env.pop(name, None)
            elif _exportable(name, value):
                env[name] = value
        env[b"GATEWAY_INTERFACE"] = GATEWAY_INTERFACE
        env[b"SERVER_SOFTWARE"] = self._software
        env[b"SCRIPT_FILENAME"] = script_filename
        return env


def last_value(pairs, name):
    """The value of the last pair named `name` (a later duplicate wins), or None."""
    for index in range(len(pairs) - 1, -1, -1):
        if pairs[index][0] == name:
            return pairs[index][1]
    return None


def split_script_name(script_name, sent_path_info, path_info):
    """SCRIPT_NAME without the path-info the resolver split off SCRIPT_FILENAME, when the web
    server sent no PATH_INFO (Apache's ProxyPassMatch); None to keep it (environment.ts
    splitScriptName)."""
    if sent_path_info or not path_info or script_name is None:
        return None
    cut = len(script_name) - len(path_info)
    if cut <= 0 or not script_name.endswith(path_info):
        return None
    return script_name[:cut]
