// This file implements the daemon's control socket from the perspective of an operator running
// `cgi-fpm status|reload|stop`: a unix socket (mode 0600, so only the daemon's user and root
// reach it) that reads one JSON request line per connection, asks the supervisor
// (ControlTarget), writes one JSON reply line and closes.

import { createServer, type Server, type Socket } from 'node:net';
import { DaemonError, ErrorCode } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import { encodeControlLine, MAX_CONTROL_REQUEST_BYTES, parseControlRequest } from './control-protocol.ts';
import type { ControlCommand, ControlReply } from './control-protocol.ts';
import { listenUnix } from '../listen/listeners.ts';
import type { ControlTarget } from '../status.ts';

/** Permission bits of the control socket: the daemon's user (and root) only. */
export const CONTROL_SOCKET_MODE = 0o600;

/** How long a connection may take to send its request line before it is closed, in ms. */
export const CONTROL_REQUEST_TIMEOUT_MS = 10_000;

/** Tuning of {@link startControlServer}. */
export interface ControlServerOptions {
  /** @defaultValue {@link CONTROL_REQUEST_TIMEOUT_MS} */
  readonly requestTimeoutMs?: number;
}

/** A running control server. */
export interface ControlServer {
  /**
   * Stops accepting (the socket file is removed) and drops connections that have not sent
   * their request yet; requests being answered finish.
   */
  close(): void;
}

/** The reply to `command`; a ControlTarget that throws (a bug) becomes an error reply. */
async function answer(command: ControlCommand, target: ControlTarget, log: Logger): Promise<ControlReply> {
  try {
    switch (command) {
      case 'status':
        return { ok: true, status: target.status() };
      case 'reload':
        return await target.reload();
      case 'stop':
        return { ok: true };
      case 'drain':
        return await target.drain();
    }
  } catch (error) {
    log.error({ err: error, command }, 'control command failed');
    return {
      ok: false,
      errors: [`control: ${command}: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
}

/** Answers one request line, then closes the connection; `stop` is started once the reply is out. */
async function respond(socket: Socket, line: string, target: ControlTarget, log: Logger): Promise<void> {
  const request = parseControlRequest(line);
  if (!request.ok) {
    log.warn({ error: request.error }, 'control request refused');
    socket.end(encodeControlLine({ ok: false, errors: [request.error] }));
    return;
  }
  const { command } = request;
  if (command === 'status') log.debug({ command }, 'control command');
  else log.info({ command }, 'control command');
  const reply = await answer(command, target, log);
  if (!socket.destroyed) socket.end(encodeControlLine(reply));
  // The reply is queued before the stop begins, and closing the server leaves this socket be.
  if (command === 'stop') target.stop();
}

/**
 * Reads the first line of a connection (bounded by {@link MAX_CONTROL_REQUEST_BYTES}; a
 * client that half-closes without a newline sends its last line) and hands it to `onLine`
 * once. Data after it is ignored.
 */
function readRequestLine(socket: Socket, onLine: (line: string | Error) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const finish = (line: string | Error): void => {
    if (done) return;
    done = true;
    socket.off('data', onData);
    onLine(line);
  };
  const onData = (chunk: Buffer): void => {
    const newline = chunk.indexOf(0x0a);
    const part = newline === -1 ? chunk : chunk.subarray(0, newline);
    size += part.length;
    if (size > MAX_CONTROL_REQUEST_BYTES) {
      finish(
        new Error(
          `control: request too large: more than ${MAX_CONTROL_REQUEST_BYTES} bytes without a newline`,
        ),
      );
      return;
    }
    chunks.push(part);
    if (newline !== -1) finish(Buffer.concat(chunks).toString('utf8'));
  };
  socket.on('data', onData);
  socket.once('end', () => {
    finish(size === 0 ? new Error('control: empty request') : Buffer.concat(chunks).toString('utf8'));
  });
}

interface Served {
  readonly target: ControlTarget;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  /** Connections that have not sent their request line yet. */
  readonly waiting: Set<Socket>;
}

function serveConnection(socket: Socket, served: Served): void {
  const { target, log, waiting } = served;
  waiting.add(socket);
  socket.setTimeout(served.requestTimeoutMs, () => socket.destroy());
  socket.on('error', (err) => {
    log.debug({ err: err.message }, 'control connection error');
  });
  socket.once('close', () => waiting.delete(socket));
  readRequestLine(socket, (line) => {
    waiting.delete(socket);
    socket.setTimeout(0);
    if (line instanceof Error) {
      log.warn({ error: line.message }, 'control request refused');
      socket.end(encodeControlLine({ ok: false, errors: [line.message] }));
      return;
    }
    respond(socket, line, target, log).catch((err: unknown) => {
      log.error({ err }, 'control command failed');
      socket.destroy();
    });
  });
}

/**
 * Opens the control socket at `path`: the parent directory is created when missing, a stale
 * socket file removed, and the socket made mode `0600`. Each connection sends one JSON line
 * (`{"command":"status"}`, `"reload"` or `"stop"`) and gets one JSON line back
 * (`{"ok":true,"status":{…}}`, `{"ok":true}`, or `{"ok":false,"errors":[…]}`), then the daemon
 * closes it. Bad input (not JSON, unknown command, more than 64 KiB) is answered with an error;
 * a connection that sends nothing within `requestTimeoutMs` (10 s) is closed; nothing throws.
 *
 * @param path - absolute socket path (`global.controlSocket`).
 * @param target - the supervisor: status, reload and stop.
 * @param log - the daemon's logger.
 * @param options - the request timeout.
 * @throws DaemonError `ERR_LISTEN` (rejects) naming the path when the socket cannot be opened.
 * @see PHP-FPM `pm.status_path` and its signals (USR2, QUIT) this replaces
 */
export async function startControlServer(
  path: string,
  target: ControlTarget,
  log: Logger,
  options: ControlServerOptions = {},
): Promise<ControlServer> {
  const waiting = new Set<Socket>();
  const served = {
    target,
    log,
    waiting,
    requestTimeoutMs: options.requestTimeoutMs ?? CONTROL_REQUEST_TIMEOUT_MS,
  };
  // allowHalfOpen: a client that shuts down its side after the request still gets the reply.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    serveConnection(socket, served);
  });
  try {
    await listenUnix(server, path, CONTROL_SOCKET_MODE, 16);
  } catch (err) {
    server.close();
    throw new DaemonError(
      ErrorCode.ERR_LISTEN,
      `control: cannot listen on ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  // An accept that fails (EMFILE at the fd limit) must not end the daemon (issue 10.4).
  server.on('error', (err) => { log.warn({ path, err: err.message }, 'control accept failed'); });
  log.info({ path }, 'control socket ready');
  return {
    close() {
      server.close();
      for (const socket of waiting) socket.destroy();
      waiting.clear();
    },
  };
}
