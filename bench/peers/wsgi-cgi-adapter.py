# This file implements an unmodified CGI script run in-process by mod_wsgi, from the perspective
# of the bench's "mod_wsgi CGI" row: the seed's own system, as small as it can be. The script is
# compiled once per process; each request sets os.environ to the CGI variables, runs the code
# object as __main__ with sys.stdout captured, and parses the CGI head it printed (RFC 3875
# §6.2-6.3: Status, Location, other header fields). The bench writes SCRIPT above this text.
import io
import os
import sys

with open(SCRIPT, "rb") as source:  # noqa: F821 (defined by the bench)
    CODE = compile(source.read(), SCRIPT, "exec")  # noqa: F821
BASE_ENVIRON = dict(os.environ)


def cgi_head(output):
    """Splits captured output into (status, headers, body); a head ends at the first blank line."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = output.partition(separator)
        if found:
            break
    else:
        return "502 Bad Gateway", [("Content-Type", "text/plain")], b"no cgi headers"
    status, headers = None, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            status = value
        else:
            headers.append((name, value))
    if status is None:
        status = "302 Found" if any(n.lower() == "location" for n, _ in headers) else "200 OK"
    return status, headers, body


def application(environ, start_response):
    os.environ.clear()
    os.environ.update(BASE_ENVIRON)
    os.environ.update((k, v) for k, v in environ.items() if isinstance(v, str))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body_in = environ["wsgi.input"].read(length) if length > 0 else b""
    captured = io.BytesIO()
    stdout = io.TextIOWrapper(captured, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout, sys.argv
    sys.stdin, sys.stdout, sys.argv = io.TextIOWrapper(io.BytesIO(body_in)), stdout, [SCRIPT]  # noqa: F821
    try:
        exec(CODE, {"__name__": "__main__", "__file__": SCRIPT, "__builtins__": __builtins__})  # noqa: F821
    except SystemExit:
        pass
    finally:
        stdout.flush()
        sys.stdin, sys.stdout, sys.argv = saved
    status, headers, body = cgi_head(captured.getvalue())
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]
