"""What a python worker of a `dispatch = "direct"` pool tells and checks besides its requests.

This file implements, from the perspective of the supervisor's heartbeat and of a peer the
worker just accepted, what src/worker/direct-scoreboard.ts and
src/supervisor/listen/client-filter.ts do for the Node direct worker: the scoreboard the
heartbeat reads (`state`: accepted connections, requests ended, the request running with its
age, the last one), `listen.allowed_clients` for TCP peers (refusals logged at most once a
minute per address, at most 4096 addresses remembered), and the `ping.path` answer. Stdlib only.
"""

import time

from _cgi_fpm_environ import last_value
from _cgi_fpm_fcgi import FCGI_REQUEST_COMPLETE, FCGI_STDOUT, end_request, stream, stream_end

_monotonic = time.monotonic
# URIs and scripts longer than this are cut in a state message (direct-scoreboard.ts).
FIELD_MAX_CHARS = 512
# Refusals of one address are logged at most once per this many seconds (client-filter.ts).
REFUSAL_LOG_INTERVAL = 60.0
# Addresses remembered for that rate limit; past it, the oldest are forgotten.
MAX_REMEMBERED_ADDRESSES = 4096
# The ping answer's cache fields (src/supervisor/pages/status-page.ts NO_CACHE).
_NO_CACHE = "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nCache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n"


def _field(pairs, name):
    value = last_value(pairs, name) or b""
    return value[:FIELD_MAX_CHARS].decode("latin-1")


class Scoreboard:
    """The counters of one direct worker since it started (PHP-FPM's scoreboard)."""

    def __init__(self, now=_monotonic):
        self._now = now
        self.accepted = 0
        self.requests = 0
        self._active = None
        self._last = None

    def started(self, pairs):
        """A request started running (its params as the web server sent them)."""
        self._active = (
            self._now(), _field(pairs, b"REQUEST_METHOD"), _field(pairs, b"REQUEST_URI"), _field(pairs, b"SCRIPT_FILENAME")
        )

    def ended(self):
        """The running request ended; returns the number of requests ended so far."""
        active, self._active = self._active, None
        self.requests += 1
        if active is not None:
            self._last = (active, self._now() - active[0])
        return self.requests

    def state(self):
        """The answer to the supervisor's heartbeat query (src/worker/ipc.ts StateMessage)."""
        message = {"type": "state", "accepted": self.accepted, "requests": self.requests, "active": []}
        active = self._active
        if active is not None:
            message["active"].append(
                {"elapsedMs": int((self._now() - active[0]) * 1000), "method": active[1], "uri": active[2], "script": active[3]}
            )
        if self._last is not None:
            (_, method, uri, script), seconds = self._last
            message["last"] = {"method": method, "uri": uri, "script": script, "durationMs": int(seconds * 1000)}
        return message


class ClientFilter:
    """`listen.allowed_clients` (the pool's ranges: family, address, prefix) for TCP peers."""

    def __init__(self, ranges, listen, log, now=_monotonic):
        import ipaddress  # only pools with allowed_clients pay for it

        self._ip = ipaddress.ip_address
        self._networks = [ipaddress.ip_network("%s/%d" % (r["address"], r["prefix"]), strict=False) for r in ranges]
        self._listen = listen
        self._log = log
        self._now = now
        self._refusals = {}
        self.refused = 0

    def allows(self, host):
        """True when the peer address `host` (text) is inside a range; an IPv4 rule also matches
        the `::ffff:a.b.c.d` form a dual-stack socket reports."""
        try:
            address = self._ip(host.split("%", 1)[0])
        except ValueError:
            return False
        candidates = [address]
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            candidates.append(mapped)
        return any(a.version == n.version and a in n for a in candidates for n in self._networks)

    def admit(self, peer):
        """True when the peer (accept()'s address) may be served; else the refusal is counted
        and logged (rate-limited)."""
        host = peer[0] if isinstance(peer, tuple) and peer else ""
        if self.allows(host):
            return True
        self.refused += 1
        self._note(host or "(unknown)")
        return False

    def _note(self, host):
        now = self._now()
        seen = self._refusals.get(host)
        if seen is not None and now - seen[0] < REFUSAL_LOG_INTERVAL:
            seen[1] += 1
            return
        since = seen[1] if seen is not None else 0
        self._refusals.pop(host, None)  # re-inserted last: the dict's order is the log order
        self._refusals[host] = [now, 0]
        if len(self._refusals) > MAX_REMEMBERED_ADDRESSES:
            for old in list(self._refusals):
                if len(self._refusals) <= MAX_REMEMBERED_ADDRESSES and now - self._refusals[old][0] < REFUSAL_LOG_INTERVAL:
                    break
                del self._refusals[old]
        self._log.warn({"listen": self._listen, "remote": host, "refusedSinceLastLog": since}, "client refused")


def listen_text(address):
    """The pool's listen address as the logs name it (src/config/listen.ts formatListenAddress)."""
    if address.get("kind") == "tcp":
        host = address.get("host", "")
        return ("[%s]:%s" if ":" in host else "%s:%s") % (host, address.get("port"))
    return "unix:%s" % address.get("path", "")


def ping_records(request_id, text):
    """The whole answer to `ping.path`: 200, text/plain, not cached, `text` as its body."""
    body = text.encode("utf-8")
    head = "Status: 200 OK\r\nContent-Type: text/plain\r\n%sContent-Length: %d\r\n\r\n" % (_NO_CACHE, len(body))
    records = stream(FCGI_STDOUT, request_id, head.encode("latin-1") + body)
    records.append(stream_end(FCGI_STDOUT, request_id))
    records.append(end_request(request_id, 0, FCGI_REQUEST_COMPLETE))
    return records
