// This file implements the control socket's wire format from the perspective of both ends (the
// daemon's control server and `cgi-fpm status|reload|stop`): one JSON request line per
// connection, one JSON reply line, then the daemon closes. Pure: strings in, values out.

import type { DaemonStatus, ReloadResult } from '../status.ts';

/** The commands the control socket answers. */
export const CONTROL_COMMANDS = ['status', 'reload', 'stop', 'drain'] as const;

/** One of {@link CONTROL_COMMANDS}. */
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

/** A request, sent as one JSON line: `{"command":"status"}`. */
export interface ControlRequest {
  readonly command: ControlCommand;
}

/**
 * Longest request line the daemon reads, in bytes (newline excluded). Requests are a few
 * bytes; the bound keeps a stray client from growing the daemon's memory.
 */
export const MAX_CONTROL_REQUEST_BYTES = 64 * 1024;

/** A refused or failed request: each error is a message (`control: unknown command "x"`). */
export interface ControlFailure {
  readonly ok: false;
  readonly errors: readonly string[];
}

/** The reply to `status`. */
export type StatusReply = { readonly ok: true; readonly status: DaemonStatus } | ControlFailure;

/**
 * A reply, sent as one JSON line: `{"ok":true,"status":{…}}` to `status`, `{"ok":true}` to
 * `reload`, `stop` and `drain` (once drained), `{"ok":false,"errors":[…]}` when refused (a reload's config problems,
 * one per entry).
 */
export type ControlReply = StatusReply | ReloadResult;

/** A request line read: the command, or the error to reply with. */
export type ParsedControlRequest =
  { readonly ok: true; readonly command: ControlCommand } | { readonly ok: false; readonly error: string };

const EXAMPLE = '{"command":"status"}';

function isCommand(value: unknown): value is ControlCommand {
  return typeof value === 'string' && (CONTROL_COMMANDS as readonly string[]).includes(value);
}

/**
 * Reads one request line (without its newline). Never throws: anything that is not a known
 * command gives the error message to send back.
 *
 * @param line - the request as UTF-8 text.
 */
export function parseControlRequest(line: string): ParsedControlRequest {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch (error) {
    return {
      ok: false,
      error: `control: invalid request: not JSON (${(error as Error).message}); send one line such as ${EXAMPLE}`,
    };
  }
  if (typeof request !== 'object' || request === null || !('command' in request)) {
    return { ok: false, error: `control: invalid request: expected an object such as ${EXAMPLE}` };
  }
  const command = request.command;
  if (!isCommand(command)) return { ok: false, error: `control: unknown command ${JSON.stringify(command)}` };
  return { ok: true, command };
}

/** One protocol line: `value` as JSON and a newline. */
export function encodeControlLine(value: ControlRequest | ControlReply): string {
  return `${JSON.stringify(value)}\n`;
}
