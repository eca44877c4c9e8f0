// This file implements the client side of the control socket from the perspective of
// `cgi-fpm status|reload|stop`: connect to the daemon's unix socket, send one JSON request
// line, read the one reply line, check its shape, and name what went wrong otherwise (not
// running, permission denied, no answer, a reply not understood).

import { connect } from 'node:net';
import { ControlError, ErrorCode, TimeoutError } from '../errors.ts';
import { formatDurationMs } from '../config/units.ts';
import { encodeControlLine } from '../supervisor/control/control-protocol.ts';
import type { ControlCommand, StatusReply } from '../supervisor/control/control-protocol.ts';
import type { ReloadResult } from '../supervisor/status.ts';
import { decodeControlReply, resultReplySchema, statusReplySchema } from './control-reply.ts';

/** How long `status` and `stop` wait for the daemon's answer, in milliseconds. */
export const CONTROL_TIMEOUT_MS = 10_000;

/** How long `reload` waits: the daemon reads and checks the new config before answering. */
export const RELOAD_TIMEOUT_MS = 120_000;

/** Most bytes of a reply read (a status with thousands of pools fits). */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

const HINTS: Readonly<Record<string, string>> = {
  ENOENT: 'ENOENT (no such socket); is cgi-fpm running?',
  ECONNREFUSED: 'ECONNREFUSED (nothing listens on it); is cgi-fpm running?',
  EACCES: 'EACCES (permission denied); the socket is mode 0600: run as the user cgi-fpm runs as, or root',
  EPERM: 'EPERM (operation not permitted); the socket is mode 0600: run as the user cgi-fpm runs as, or root',
};

/**
 * The ControlError for a socket error: before the connection (`cannot connect`, with a hint
 * for ENOENT, ECONNREFUSED, EACCES, EPERM) or during the exchange.
 */
export function socketError(
  error: NodeJS.ErrnoException,
  socketPath: string,
  connected: boolean,
): ControlError {
  const code = error.code ?? '';
  const denied = code === 'EACCES' || code === 'EPERM';
  const message = connected
    ? `control: ${socketPath}: the connection failed before the answer: ${code || error.message}`
    : `control: cannot connect to ${socketPath}: ${HINTS[code] ?? error.message}`;
  return new ControlError(
    denied ? ErrorCode.ERR_CONTROL_DENIED : ErrorCode.ERR_CONTROL_UNAVAILABLE,
    message,
    { socketPath },
    { cause: error },
  );
}

/** The first line of a reply as JSON. @throws ControlError when empty or not JSON. */
function replyValue(text: string, socketPath: string): unknown {
  const line = text.split('\n', 1)[0] ?? '';
  if (line === '') {
    const message = `control: ${socketPath}: the daemon closed the connection without answering`;
    throw new ControlError(ErrorCode.ERR_CONTROL_UNAVAILABLE, message, { socketPath });
  }
  try {
    return JSON.parse(line);
  } catch (error) {
    const message = `control: ${socketPath}: unexpected reply (not JSON: ${JSON.stringify(line.slice(0, 80))}); is it a cgi-fpm control socket?`;
    throw new ControlError(ErrorCode.ERR_CONTROL_PROTOCOL, message, { socketPath }, { cause: error });
  }
}

/**
 * Sends one command and resolves with the reply line parsed as JSON (shape unchecked).
 *
 * @throws ControlError (rejects) `ERR_CONTROL_UNAVAILABLE`, `ERR_CONTROL_DENIED` or
 *   `ERR_CONTROL_PROTOCOL`; TimeoutError `ERR_TIMEOUT` when the daemon is silent for `timeoutMs`.
 */
export function exchangeControl(
  socketPath: string,
  command: ControlCommand,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    const socket = connect(socketPath);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => {
      const message = `control: ${socketPath}: no answer within ${formatDurationMs(timeoutMs)}`;
      fail(new TimeoutError(message, timeoutMs));
    });
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeControlLine({ command }));
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REPLY_BYTES) chunks.push(chunk);
      else
        fail(
          new ControlError(
            ErrorCode.ERR_CONTROL_PROTOCOL,
            `control: ${socketPath}: reply larger than ${MAX_REPLY_BYTES} bytes`,
            { socketPath },
          ),
        );
    });
    socket.once('end', () => {
      socket.destroy();
      try {
        resolve(replyValue(Buffer.concat(chunks).toString('utf8'), socketPath));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      fail(socketError(error, socketPath, connected));
    });
  });
}

/**
 * Asks the daemon for its status.
 * @throws ControlError, TimeoutError as {@link exchangeControl}.
 */
export async function requestStatus(
  socketPath: string,
  timeoutMs = CONTROL_TIMEOUT_MS,
): Promise<StatusReply> {
  return decodeControlReply(
    statusReplySchema,
    await exchangeControl(socketPath, 'status', timeoutMs),
    socketPath,
  );
}

/**
 * Asks the daemon to reload its config file; `{ ok: false, errors }` when it refused the file.
 * @throws ControlError, TimeoutError as {@link exchangeControl}.
 */
export async function requestReload(
  socketPath: string,
  timeoutMs = RELOAD_TIMEOUT_MS,
): Promise<ReloadResult> {
  return decodeControlReply(
    resultReplySchema,
    await exchangeControl(socketPath, 'reload', timeoutMs),
    socketPath,
  );
}

/**
 * Asks the daemon to drain (as SIGTERM) and resolves once it has: every request finished and
 * the workers gone (`ok: false` when `process_control_timeout` cut requests short). No bound
 * by default: the daemon's own `process_control_timeout` bounds the wait.
 * @throws ControlError, TimeoutError as {@link exchangeControl}.
 */
export async function requestDrain(socketPath: string, timeoutMs = 0): Promise<ReloadResult> {
  return decodeControlReply(
    resultReplySchema,
    await exchangeControl(socketPath, 'drain', timeoutMs),
    socketPath,
  );
}

/**
 * Asks the daemon to stop gracefully (as SIGTERM); resolves once it has accepted.
 * @throws ControlError, TimeoutError as {@link exchangeControl}.
 */
export async function requestStop(socketPath: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<ReloadResult> {
  return decodeControlReply(
    resultReplySchema,
    await exchangeControl(socketPath, 'stop', timeoutMs),
    socketPath,
  );
}
