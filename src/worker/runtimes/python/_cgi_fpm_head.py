"""The CGI response head a script writes, and the pages the worker answers with itself.

This file implements, from the perspective of the gateway reading a script's stdout (the python
worker; src/cgi/response.ts and head-lines.ts are the same rules on the Node side), the end of
the header block found in bytes split anywhere, its lines read into a status and ordered
fields (RFC 3875 §6: Status, NPH status lines, client redirects), the normalized head a web
server reads, and the error pages (403, 404, 502, 504) in the same bytes as the daemon's.
Pure: bytes in, bytes out. Stdlib only.
"""

import re

# Bound of a header block, in bytes.
MAX_HEAD_BYTES = 64 * 1024

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted",
    203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content",
    206: "Partial Content", 300: "Multiple Choices", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect",
    308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
    414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
    417: "Expectation Failed", 421: "Misdirected Request", 422: "Unprocessable Content",
    426: "Upgrade Required", 429: "Too Many Requests", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_STATUS_VALUE = re.compile(r"(\d{3})(?:[ \t]+(.*))?\Z", re.S)
_NPH_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)? +(\d{3})(?:[ \t]+(.*))?\Z", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_WIRE_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")


class CgiError(Exception):
    """A script's output that is not a CGI response. `code` is the daemon's error code
    (ERR_CGI_NO_HEADERS, ERR_CGI_BAD_HEADERS)."""

    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code


def no_headers_error(signal_name, exit_code, buffered):
    """The error of a script whose output ended before its head did (killed by `signal_name`,
    or exited with `exit_code`, or neither known), after `buffered` bytes."""
    how = (
        "killed by %s" % signal_name
        if signal_name is not None
        else ("exit code %d" % exit_code if exit_code is not None else "output ended")
    )
    return CgiError(
        "ERR_CGI_NO_HEADERS", "cgi: no cgi headers: %s after %d bytes without a blank line" % (how, buffered)
    )


class Head:
    """A parsed head: status (200-599), reason, and the other fields in order (text, latin-1)."""

    __slots__ = ("status", "reason", "headers")

    def __init__(self, status, reason, headers):
        self.status = status
        self.reason = reason
        self.headers = headers


class HeadParser:
    """Finds the blank line that ends the head in chunks pushed as they come (LF or CRLF,
    mixed); `push` returns the Head once complete, and `rest` holds the body bytes that
    followed it in the last chunk."""

    def __init__(self, max_bytes=MAX_HEAD_BYTES):
        self._max = max_bytes
        self._held = b""
        self.rest = b""

    @property
    def buffered(self):
        return len(self._held)

    def push(self, chunk):
        data = self._held + chunk if self._held else chunk
        end = _blank_line_end(data)
        if end < 0:
            if len(data) > self._max:
                raise CgiError("ERR_CGI_NO_HEADERS", "cgi: no cgi headers: header block exceeds %d bytes" % self._max)
            self._held = bytes(data)
            return None
        if end > self._max:
            raise CgiError("ERR_CGI_NO_HEADERS", "cgi: no cgi headers: header block exceeds %d bytes" % self._max)
        lines = bytes(data[:end]).decode("latin-1").split("\n")
        self.rest = data[end:]
        self._held = b""
        del lines[-2:]  # the blank line and what follows the last LF
        return parse_head_lines(lines)



class HeadStep:
    """A request's CGI head step, shared by the python runtime's requests and the exec
    worker's: the script's output goes through a HeadParser until its head is whole. Keeps
    `head` (None until read) and `output_error` (the CgiError that refused the head)."""

    def _start_head(self):
        self.head = None
        self.parser = HeadParser()
        self.output_error = None

    def _take_head(self, piece):
        """Feeds `piece` to the head parser: (the encoded head, the body bytes that followed
        it) once the head is whole; None while it is not, or when it was refused
        (`output_error` set then)."""
        try:
            head = self.parser.push(piece)
            if head is None:
                return None
            encoded = encode_head(head)
        except CgiError as error:
            self.output_error = error
            return None
        self.head = head
        return encoded, self.parser.rest

def _blank_line_end(data):
    """The index just past the first empty line (LF or CR LF at a line start), or -1."""
    if data[:1] == b"\n":
        return 1
    if data[:2] == b"\r\n":
        return 2
    lf = data.find(b"\n\n")
    crlf = data.find(b"\n\r\n")
    if lf < 0:
        return -1 if crlf < 0 else crlf + 3
    if crlf < 0 or lf < crlf:
        return lf + 2
    return crlf + 3


def parse_head_lines(lines):
    """The Head of a header block's lines (without the blank line). Raises CgiError
    ERR_CGI_BAD_HEADERS for a line without ':', a bad name, control bytes in a value, a
    malformed or duplicate status, or a status outside 200-599."""
    headers = []
    status = None
    last = None
    for index, raw in enumerate(lines):
        line = raw[:-1] if raw.endswith("\r") else raw
        if index == 0 and line.startswith("HTTP/"):
            status = _status(_NPH_STATUS_LINE.match(line), "malformed status line", line)
        elif line.startswith((" ", "\t")):
            if last is None:
                raise _bad("continuation line without a field", line)
            more = _value(line, line)
            if last[1] == "":
                last[1] = more
            elif more != "":
                last[1] = last[1] + " " + more
        else:
            colon = line.find(":")
            if colon < 0:
                raise _bad("line has no ':'", line)
            name = line[:colon]
            if not _TOKEN.match(name):
                raise _bad("bad field name", line)
            value = _value(line[colon + 1 :], line[colon + 1 :])
            last = None
            if name.lower() != "status":
                last = [name, value]
                headers.append(last)
            elif status is not None:
                raise _bad("duplicate status", line)
            else:
                status = _status(_STATUS_VALUE.match(value), "malformed status", line)
    if status is None:
        status = _default_status(headers)
    return Head(status[0], status[1], [(n, v) for n, v in headers])


def _status(match, what, line):
    if match is None:
        raise _bad(what, line)
    code = int(match.group(1))
    if code < 200 or code > 599:
        raise _bad(what, line)
    reason = (match.group(2) or "").strip(" \t")
    return code, reason or REASONS.get(code, "")


def _value(text, line):
    value = text.strip(" \t")
    if _CONTROL.search(value):
        raise _bad("control byte in field value", line)
    return value


def _default_status(headers):
    for name, value in headers:
        if name.lower() == "location" and not is_local_location(value):
            return 302, REASONS[302]
    return 200, REASONS[200]


def is_local_location(location):
    """A local redirect: an absolute path, not a //host reference (RFC 3875 §6.2.2)."""
    return location.startswith("/") and not location.startswith("//")


def _bad(what, line):
    shown = line if len(line) <= 80 else line[:80] + "\u2026"
    return CgiError("ERR_CGI_BAD_HEADERS", "cgi: bad headers: %s: %s" % (what, _quote(shown)))


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def encode_head(head):
    """The normalized head (latin-1): `Status: 302 Found`, the fields in order, a blank line;
    a local redirect (200 with `Location: /path`) without its Status line, as written."""
    parts = []
    local = head.status == 200 and any(
        n.lower() == "location" and is_local_location(v) for n, v in head.headers
    )
    if not _WIRE_VALUE.match(head.reason):
        raise CgiError("ERR_CGI_BAD_HEADERS", "cgi: bad headers: bad reason %s" % _quote(head.reason))
    if not local:
        parts.append("Status: %d%s\r\n" % (head.status, " " + head.reason if head.reason else ""))
    for name, value in head.headers:
        if not _WIRE_VALUE.match(value):
            raise CgiError("ERR_CGI_BAD_HEADERS", "cgi: bad headers: bad field %s" % _quote(name + ": " + value))
        parts.append("%s: %s\r\n" % (name, value))
    parts.append("\r\n")
    return "".join(parts).encode("latin-1")


def error_page(status):
    """The daemon's own answer: `Status: 502 Bad Gateway`, an HTML type, its length and a
    short ASCII page (src/cgi/error-page.ts writes the same bytes)."""
    text = "%d %s" % (status, REASONS.get(status, ""))
    body = (
        "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"
        "<hr><center>cgi-fpm</center>\r\n</body>\r\n</html>\r\n" % (text, text)
    ).encode("latin-1")
    head = "Status: %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % (
        status,
        REASONS.get(status, ""),
        len(body),
    )
    return head.encode("latin-1") + body
