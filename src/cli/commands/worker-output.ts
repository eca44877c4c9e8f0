// This file implements the workers' log lines from the perspective of a daemon that logs to a
// file (`error_log`): the workers' stdout and stderr become pipes the supervisor reads, and
// each whole line is written to the supervisor's log output, so one SIGUSR1 reopen moves every
// process's lines to the new file (as PHP-FPM's master writes its children's output).
import type { LogOutput } from '../../log/output.ts';
import type { SpawnFn } from '../../supervisor/pool/worker-handle.ts';
import { LineSplitter } from '../../worker/runtimes/line-splitter.ts';

/** Longest line relayed whole, in UTF-16 code units (a longer one is cut in pieces). */
const MAX_LINE_LENGTH = 1 << 20;

/**
 * A spawn that gives each child's inherited stdout and stderr to `output` instead, line by
 * line; other stdio entries (the workers' channels, IPC) are left as they are.
 */
export function relayWorkerOutput(spawn: SpawnFn, output: LogOutput): SpawnFn {
  return (command, args, options) => {
    const stdio = Array.isArray(options.stdio) ? [...(options.stdio as unknown[])] : undefined;
    const relayed = [1, 2].filter((fd) => stdio?.[fd] === 'inherit');
    for (const fd of relayed) if (stdio !== undefined) stdio[fd] = 'pipe';
    const child = spawn(command, args, stdio === undefined ? options : { ...options, stdio: stdio as typeof options.stdio });
    for (const stream of relayed.map((fd) => (fd === 1 ? child.stdout : child.stderr))) {
      if (stream === null) continue;
      const lines = new LineSplitter((line) => { output.write(`${line}\n`); }, MAX_LINE_LENGTH);
      stream.on('data', (chunk: Buffer) => { lines.push(chunk); });
      stream.on('end', () => { lines.end(); });
      // A read error on a log pipe must not become an uncaught exception in the supervisor.
      stream.on('error', () => undefined);
    }
    return child;
  };
}
