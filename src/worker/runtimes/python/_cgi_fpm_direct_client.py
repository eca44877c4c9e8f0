"""One connection a python worker of a `dispatch = "direct"` pool accepted from the web server.

This file implements, from the perspective of the web server's connection (nginx's, kept alive
with FCGI_KEEP_CONN or one per request), what the worker's channel on fd 3 is in the relayed
mode: its socket read and written through the same `Connection` (one writev per turn,
backpressure), its records through the same responder role (the record parser's and the
params' bounds apply: a connection that sends garbage is logged and closed, never more), and
its end: after a request without FCGI_KEEP_CONN the worker closes it once END_REQUEST is
written when the request's whole input was read (its empty FCGI_STDIN came), else half-closes
and reads until the web server closes (a lingering close, at most LINGER_SECONDS), so the
kernel never resets a connection with unread body bytes before the response was read.
The role (`_cgi_fpm_direct.DirectRole`) decides when a request runs. Stdlib only.
"""

import socket

from _cgi_fpm_connection import Connection
from _cgi_fpm_fcgi import ProtocolError
from _cgi_fpm_responder import Responder

# How long a half-closed connection may take to be closed by its peer, in seconds.
LINGER_SECONDS = 2.0


class Client:
    """An accepted connection: `sock` (a socket object, owner of the descriptor), its
    Connection and Responder. `used` once it sent a BEGIN_REQUEST; `request` is the request
    begun on it until it ended."""

    def __init__(self, role, sock):
        self.role = role
        self.sock = sock
        self.used = False
        self.input_done = False  # the request's empty FCGI_STDIN came: nothing more is owed
        self.request = None
        self.closing = False
        self.gone = False
        self.held = False  # reading held while another connection's request runs
        self._output_held = False
        self._timer = None
        self.connection = Connection(role.loop, sock.fileno(), self._data, self._eof, self._may_read)
        self.responder = Responder(self, role.fcgi_values)

    @property
    def idle(self):
        """No request begun on it (between the requests of a kept-alive connection)."""
        return self.responder.idle and not self.closing and not self.gone

    def hold(self):
        if not self.held:
            self.held = True
            self.connection.hold()

    def release(self):
        if self.held:
            self.held = False
            self.connection.release()

    # --- the socket ----------------------------------------------------------------------

    def _may_read(self):
        """While another connection's request runs, this one waits, held, in the role's queue."""
        return self.role.may_read(self)

    def _data(self, data):
        if self.closing:
            return  # lingering: what comes after the last request is dropped
        try:
            self.responder.push(data)
        except ProtocolError as error:
            self.role.log.error({"err": str(error)}, "protocol error")
            self.role.client_lost(self)
            return
        connection = self.connection
        if connection.full and not self._output_held and not connection.closed:
            # A peer that sends but does not read (GET_VALUES in a loop): read no more of it
            # until it took what was answered.
            self._output_held = True
            connection.hold()
            connection.when_drained(self._output_drained)

    def _output_drained(self):
        self._output_held = False
        self.connection.release()

    def _eof(self):
        self.role.client_lost(self)

    def linger(self):
        """Ends the connection: END_REQUEST written, then a half-close, then its peer's close
        awaited (reads dropped), at most LINGER_SECONDS."""
        if self.closing or self.gone:
            return
        self.closing = True
        self.connection.when_flushed(self._flushed)

    def _flushed(self):
        if self.gone:
            return
        if self.connection.closed or (self.input_done and self.responder.buffered == 0):
            # Every byte the request owed was read (nginx sends nothing after the empty
            # FCGI_STDIN): a plain close sends FIN, no reset, and costs no lingering.
            self.role.client_lost(self)
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.role.client_lost(self)
            return
        self._timer = self.role.loop.call_later(LINGER_SECONDS, self._lingered)

    def _lingered(self):
        self._timer = None
        self.role.client_lost(self)

    def shut(self):
        """Closes the descriptor now (whatever is queued is dropped)."""
        if self.gone:
            return
        self.gone = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.connection.detach()
        try:
            self.sock.close()
        except OSError:
            pass

    # --- responder events ------------------------------------------------------------------

    def begin(self, request_id, keep_conn):
        self.used = True
        self.input_done = False
        request = self.request = self.role.request_class(self.role, request_id)
        return request

    def params(self, request, pairs):
        self.role.params_complete(self, request, pairs)

    def stdin(self, request, content):
        if not content:
            self.input_done = True
        request.body(content)
        if not content:
            self.role.body_ended(self, request)

    def abort(self, request):
        request.abort()

    def reply(self, data):
        self.connection.write([data])

    def close(self):
        self.linger()
