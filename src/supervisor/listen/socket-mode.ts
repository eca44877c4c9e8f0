// This file implements the mode a unix socket file is born with, from the perspective of a
// client racing the daemon's start: bind(2) creates the file with 0777 minus the umask, and
// the chmod to `listen.mode` came only after listen(2), so for that moment the socket had the
// umask's mode (0755-ish: anyone could connect; issue 10, item 7). The umask is now set to
// the complement of the mode around the bind, which Node makes synchronously inside
// `server.listen()`, so the file is never more open than asked.

/**
 * Runs `bind` (a synchronous `server.listen({ path })` call) with the process umask set so that
 * a file it creates has at most `mode`'s permission bits, and restores the umask.
 * @param mode - permission bits (`listen.mode`, `0o600` for the control socket)
 * @see bind(2), umask(2); Node.js `process.umask`
 */
export function bindWithMode<T>(mode: number, bind: () => T): T {
  const previous = process.umask(~mode & 0o777);
  try {
    return bind();
  } finally {
    process.umask(previous);
  }
}
