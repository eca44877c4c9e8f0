"""The FastCGI responder role, as a state machine without I/O.

This file implements the responder role from the perspective of the python worker reading its
supervisor's channel, as src/fastcgi/responder.ts does for the Node side (the same rules, one
request at a time): records in, the driver's events out (a request begins, its params are
complete, a body record, an abort), plus the replies the specification makes the application
send by itself (GET_VALUES_RESULT, UNKNOWN_TYPE, CANT_MPX_CONN, UNKNOWN_ROLE, END_REQUEST after
an abort that came before the params ended) and the close after a request without
FCGI_KEEP_CONN. Stdlib only. See the FastCGI specification §4, §5, §6.2.
"""

from _cgi_fpm_fcgi import (
    FCGI_ABORT_REQUEST,
    FCGI_BEGIN_REQUEST,
    FCGI_CANT_MPX_CONN,
    FCGI_GET_VALUES,
    FCGI_KEEP_CONN,
    FCGI_NULL_REQUEST_ID,
    FCGI_PARAMS,
    FCGI_REQUEST_COMPLETE,
    FCGI_RESPONDER,
    FCGI_STDIN,
    FCGI_UNKNOWN_ROLE,
    FCGI_UNKNOWN_TYPE,
    ProtocolError,
    RecordParser,
    begin_request_body,
    decode_pairs,
    end_request,
    get_values_result,
    unknown_type,
)

# Bound on one request's params stream, in bytes (the Node side's default).
MAX_PARAMS_BYTES = 1024 * 1024


class _Slot:
    """The request in flight: its id, its driver object, and its params until complete."""

    __slots__ = ("request_id", "request", "params")

    def __init__(self, request_id, request):
        self.request_id = request_id
        self.request = request
        self.params = []  # the PARAMS contents so far; None once the request started


class Responder:
    """The responder role on one connection. `events` has begin(id, keep_conn) -> request,
    params(request, pairs), stdin(request, content), abort(request), reply(bytes), close();
    `values` answers FCGI_GET_VALUES (text to text)."""

    def __init__(self, events, values, max_params_bytes=MAX_PARAMS_BYTES):
        self._events = events
        self._values = dict(values, FCGI_MPXS_CONNS="0")
        self._max_params = max_params_bytes
        self._parser = RecordParser()
        self._slot = None
        self._closing = False

    @property
    def idle(self):
        return self._slot is None

    @property
    def buffered(self):
        """Bytes of an incomplete record held."""
        return self._parser.buffered

    def push(self, data):
        """The connection's next bytes; raises ProtocolError (the connection is lost)."""
        for kind, request_id, content in self._parser.feed(data):
            self.receive(kind, request_id, content)

    def receive(self, kind, request_id, content):
        if kind == FCGI_GET_VALUES:
            names = [name for name, _ in decode_pairs(content)]
            self._events.reply(get_values_result(names, self._values))
            return
        if request_id == FCGI_NULL_REQUEST_ID or not 1 <= kind <= FCGI_UNKNOWN_TYPE:
            self._events.reply(unknown_type(kind))
            return
        if kind == FCGI_BEGIN_REQUEST:
            self._begin(request_id, content)
            return
        slot = self._slot
        if slot is None or slot.request_id != request_id:
            return  # unknown ids, and records after END_REQUEST (spec §3.3)
        if kind == FCGI_PARAMS:
            self._params(slot, content)
        elif kind == FCGI_STDIN:
            if slot.params is not None:
                raise ProtocolError("fastcgi: FCGI_STDIN before the end of FCGI_PARAMS")
            self._events.stdin(slot.request, content)
        elif kind == FCGI_ABORT_REQUEST:
            if slot.params is None:
                self._events.abort(slot.request)
                return
            # Aborted while its params still came: no one started it, so answer it (§5.4).
            self._slot = None
            self._events.reply(end_request(request_id, 0, FCGI_REQUEST_COMPLETE))
            self._ended()

    def end(self, request_id):
        """The driver wrote `request_id`'s END_REQUEST."""
        if self._slot is not None and self._slot.request_id == request_id:
            self._slot = None
            self._ended()

    def _begin(self, request_id, content):
        role, flags = begin_request_body(content, request_id)
        slot = self._slot
        if slot is not None and slot.request_id == request_id:
            raise ProtocolError("fastcgi: FCGI_BEGIN_REQUEST for request %d, already in progress" % request_id)
        if slot is not None or self._closing:
            self._events.reply(end_request(request_id, 0, FCGI_CANT_MPX_CONN))
            return
        keep_conn = bool(flags & FCGI_KEEP_CONN)
        if role != FCGI_RESPONDER:
            self._events.reply(end_request(request_id, 0, FCGI_UNKNOWN_ROLE))
            if not keep_conn:
                self._closing = True
                self._events.close()
            return
        self._slot = _Slot(request_id, self._events.begin(request_id, keep_conn))
        if not keep_conn:
            self._closing = True

    def _params(self, slot, content):
        params = slot.params
        if params is None:
            return  # a repeated empty PARAMS record
        if content:
            params.append(content)
            if sum(len(p) for p in params) > self._max_params:
                raise ProtocolError("fastcgi: params of request %d over %d bytes" % (slot.request_id, self._max_params))
            return
        slot.params = None
        self._events.params(slot.request, decode_pairs(b"".join(params)))

    def _ended(self):
        if self._slot is None and self._closing:
            self._events.close()
