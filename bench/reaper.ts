// This file implements a reaper from the perspective of the bench stopping a server that forks
// (fcgiwrap): its children outlive their parent for a moment when the group is signalled, and
// where PID 1 does not reap orphans (containers) they would stay zombies. A small Python parent,
// made a child subreaper, runs the command, adopts those orphans and reaps them.

/**
 * The reaper: `python3 -c REAPER_PY COMMAND ARGS…`. It exits once the command and every orphan
 * it adopted have exited, with the command's exit status; SIGTERM (sent to the whole group)
 * does not stop it before that.
 *
 * @see prctl(2) PR_SET_CHILD_SUBREAPER
 */
const REAPER_PY = `
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("reaper: prctl: " + os.strerror(ctypes.get_errno()))
command = os.fork()
if command == 0:
    os.execv(sys.argv[1], sys.argv[1:])
signal.signal(signal.SIGTERM, lambda *_: None)
status = 1
while True:
    try:
        pid, raw = os.wait()
    except ChildProcessError:
        break
    if pid == command:
        status = os.waitstatus_to_exitcode(raw)
sys.exit(status if status >= 0 else 128 - status)
`;

/** The program and arguments that run `file args…` under the reaper. */
export function underReaper(python: string, file: string, args: readonly string[]): [string, string[]] {
  return [python, ['-c', REAPER_PY, file, ...args]];
}
