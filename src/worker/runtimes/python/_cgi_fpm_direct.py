"""The python worker of a `dispatch = "direct"` pool: it accepts the web server's connections.

This file implements, from the perspective of a python or exec pool's worker spawned with the
pool's listening socket as its fd LISTEN_FD (as PHP-FPM's children), what src/worker/direct.ts
does for the Node direct worker, one request at a time: while no request runs, one poll(2)
waits on the listener AND every connection it accepted (an idle kept-alive one does not keep it
from accepting); accept(2) is non-blocking (EAGAIN: another worker won). A request whose params
are complete runs at once: its script resolved with the router's rules and refusals
(`_cgi_fpm_route`), the params set as the relay sets them, its output held until its body ended
(`_cgi_fpm_direct_hold`), run by the same Request as on fd 3. While it runs, the listener and the
other connections are not read (one found readable is queued, and read in that order after: none
starves). `ping.path`, `listen.allowed_clients` and `listen.max_connections` are applied here;
the heartbeat's `state` is answered from the scoreboard at any time. `stop`, or `pm.max_requests`
reached (`recycle` said): stop accepting, finish what was accepted, close idle kept-alive
connections (one that sent nothing gets FRESH_GRACE), send the last `state`, leave. Mixed in
before worker.py's Worker (or ExecWorker). Stdlib only.
"""

import errno
import os
import socket

from _cgi_fpm_direct_board import ClientFilter, Scoreboard, listen_text, ping_records
from _cgi_fpm_direct_client import Client
from _cgi_fpm_direct_hold import HeldOutput
from _cgi_fpm_environ import last_value, split_script_name
from _cgi_fpm_log import text as _text
from _cgi_fpm_route import Router

# While leaving: how long a connection that has not completed a request may take to, in seconds.
FRESH_GRACE = 10.0
# How long accepting pauses after accept(2) failed for want of descriptors (EMFILE), in seconds.
ACCEPT_RETRY = 0.1


class DirectRole:
    """The accept loop and the exclusive request; the worker's runners, requests and control
    channel are the ChannelWorker's."""

    def __init__(self, ipc, message, server_software, listen_fd):
        super().__init__(ipc, message, server_software)
        pool = self.pool
        self.listen_fd = listen_fd
        self.max_requests = message.get("maxRequests") or 0
        # `fastcgi_temp_path`: where held output spills (None: the system's temporary directory).
        self.temp_path = message.get("tempPath")
        self.max_connections = (pool.get("listen") or {}).get("maxConnections") or 0
        self.ping_path = ((pool.get("status") or {}).get("pingPath") or "").encode("latin-1", "replace") or None
        self.ping_response = (pool.get("status") or {}).get("pingResponse") or "pong"
        self.fcgi_values = {"FCGI_MAX_CONNS": str(max(1, self.max_connections)), "FCGI_MAX_REQS": "1"}
        self.board = Scoreboard()
        self.router = Router(pool)
        self.clients = set()
        self.current_client = None
        self.held = None  # the running request's HeldOutput while its body is open
        self.waiting = []
        self.deferred = []  # connections that became readable while a request ran, in that order
        self.accepting = False
        self.listener = None
        self.filter = None
        self._grace = None
        self._watching = False
        self._left = False
        listen = pool.get("listen") or {}
        address = listen.get("address") or {}
        if address.get("kind") == "tcp" and listen.get("allowedClients") is not None:
            self.filter = ClientFilter(listen["allowedClients"], listen_text(address), self.log)

    # --- channels --------------------------------------------------------------------------

    def serve_channels(self):
        """Starts accepting on the listening socket and reads the control channel."""
        os.set_inheritable(self.listen_fd, False)
        self.listener = socket.socket(fileno=self.listen_fd)
        self.listener.setblocking(False)
        self.accepting = True
        self._watch_listener()
        os.set_blocking(self.ipc.fd, False)
        self.loop.add_reader(self.ipc.fd, self._ipc_readable)
        self.log.info({"listen": "direct"}, "worker accepting directly")
        self._ipc_readable()

    def close_channels(self):
        self._stop_accepting()
        for client in list(self.clients):
            client.shut()
        self.clients.clear()

    def control(self, message):
        """`state` (the heartbeat) answered from the scoreboard; `stop` as for any worker."""
        if message.get("type") == "state":
            self.ipc.send(self.board.state())
        else:
            super().control(message)

    def leave(self):
        """Stops accepting, finishes what was accepted, then leaves (the last `state` first)."""
        if self.leaving:
            return
        self.leaving = True
        self._stop_accepting()
        self._leave_if_done()

    # --- accepting -------------------------------------------------------------------------

    def _watch_listener(self):
        """Polls the listener while accepting, idle and under listen.max_connections."""
        want = (
            self.accepting and self.current is None
            and (self.max_connections <= 0 or len(self.clients) < self.max_connections)
        )
        if want != self._watching:
            self._watching = want
            if want:
                self.loop.add_reader(self.listen_fd, self._acceptable)
            else:
                self.loop.remove_reader(self.listen_fd)

    def _acceptable(self):
        try:
            sock, peer = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return  # another worker took it
        except OSError as error:
            self.log.error({"err": str(error)}, "direct: accept failed")
            if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self.loop.remove_reader(self.listen_fd)
                self._watching = False
                self.loop.call_later(ACCEPT_RETRY, self._watch_listener)
            return
        if self.filter is not None and not self.filter.admit(peer):
            sock.close()
            return
        self.board.accepted += 1
        client = Client(self, sock)
        self.clients.add(client)
        self._watch_listener()
        client.connection.read_now()

    def _stop_accepting(self):
        if not self.accepting:
            return
        self.accepting = False
        self._watch_listener()
        self.loop.forget(self.listen_fd)
        self.listener.close()  # this worker's descriptor only: the socket stays in the supervisor
        for client in list(self.clients):
            # A connection queued meanwhile has a request waiting in it: served in its turn.
            if client is not self.current_client and client.idle and client.used and client not in self.deferred:
                client.linger()
        self._grace = self.loop.call_later(FRESH_GRACE, self._grace_over)

    def _grace_over(self):
        """Leaving: what has not begun to run by now is closed."""
        for client in list(self.clients):
            if client is self.current_client or client in self.deferred:
                continue
            if client.idle:
                client.linger()
            elif not client.closing:
                self.client_lost(client)

    def client_lost(self, client):
        """The peer closed, the connection failed or sent garbage, or a linger ended."""
        if client.gone:
            return
        request = client.request
        if request is not None:
            if request is self.current:
                request.abort()  # its end comes through request_ended
            else:
                self.waiting = [w for w in self.waiting if w[0] is not client]
        client.shut()
        self.clients.discard(client)
        if client in self.deferred:
            self.deferred.remove(client)
        self._watch_listener()
        self._leave_if_done()

    # --- one request at a time -------------------------------------------------------------

    def may_read(self, client):
        """A connection is readable: read it unless another connection's request runs; then it
        is held (no longer polled) and queued, to be read in its turn once that request ended."""
        if self.current is None or client is self.current_client:
            return True
        client.hold()
        self.deferred.append(client)
        return False

    def _read_deferred(self):
        """Idle: the connections that became readable meanwhile are read in the order they did,
        until one starts a request (the rest stay queued, held)."""
        while self.deferred and self.current is None:
            client = self.deferred.pop(0)
            client.release()
            if not client.gone:
                client.connection.read_now()

    def params_complete(self, client, request, pairs):
        if self.current is not None:
            self.waiting.append((client, request, pairs))
            return
        self._start(client, request, pairs)

    def _start(self, client, request, pairs):
        self.current = request
        self.current_client = client
        # Until the body has ended, what the request writes is held (_cgi_fpm_direct_hold).
        self.held = None if client.input_done else HeldOutput(client.connection, self.temp_path)
        self.use_connection(client.connection if self.held is None else self.held)
        self.responder = client.responder
        self._watch_listener()
        self.board.started(pairs)
        if self.ping_path is not None and last_value(pairs, b"SCRIPT_NAME") == self.ping_path:
            request.over = True
            client.connection.write(ping_records(request.request_id, self.ping_response))
            self.request_ended(request)
            return
        resolved = self._resolve(request, pairs)
        if resolved is not None:
            request.run(resolved)

    def _resolve(self, request, pairs):
        """The params with the resolved script (as the relay adds them), or None once the
        refusal was answered."""
        sent = last_value(pairs, b"SCRIPT_FILENAME") or b""
        sent_path_info = last_value(pairs, b"PATH_INFO") or b""
        try:
            route = self.router.resolve(sent, sent_path_info)
        except OSError as error:
            # Not about the path (EIO): answered 500, as the supervisor's router does.
            request.script = sent
            self.log.error({"err": str(error), "script": _text(sent)}, "routing failed")
            request.fail(500, None, {})
            return None
        if not route.ok:
            request.script = sent
            self.log.warn({"script": _text(sent), "reason": route.reason}, route.event)
            request.fail(route.status, None, {})
            return None
        overrides = [(b"SCRIPT_FILENAME", route.script_filename)]
        if route.path_info:
            overrides.append((b"PATH_INFO", route.path_info))
        script_name = split_script_name(last_value(pairs, b"SCRIPT_NAME"), sent_path_info, route.path_info)
        if script_name is not None:
            overrides.append((b"SCRIPT_NAME", script_name))
        return pairs + overrides

    def body_ended(self, client, request):
        """The empty STDIN record: the running request's held output goes out."""
        if request is self.current and self.held is not None:
            self.held.release_held()

    def request_ended(self, request):
        client = self.current_client
        held, self.held = self.held, None
        self.current = None
        self.current_client = None
        request.body_early = None
        requests = self.board.ended()
        if client is not None:
            client.request = None
            if client.gone:
                if held is not None:
                    held.drop()
            elif held is not None and held.holding:
                # The request ended before its body did: what it wrote goes out, then its end.
                held.release_held(lambda: client.gone or client.responder.end(request.request_id))
            else:
                client.responder.end(request.request_id)  # closes it without FCGI_KEEP_CONN
        self.check_memory()
        if self.max_requests > 0 and requests >= self.max_requests and self.accepting:
            self._stop_accepting()
            self.log.info({"requests": requests}, "direct: pm.max_requests reached, not accepting any more")
            self.ipc.send({"type": "recycle", "reason": "max_requests", "rssBytes": self.memory_bytes()})
        if not self.accepting and client is not None and client.idle:
            client.linger()
        if self.waiting:
            self._start(*self.waiting.pop(0))
            return
        self._read_deferred()
        self._watch_listener()
        self._leave_if_done()

    def _leave_if_done(self):
        if self._left or not self.leaving or self.accepting or self.clients or self.current is not None or self.waiting:
            return
        self._left = True
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self.ipc.send(self.board.state())  # the last word: the counts include every request
        self._close()
