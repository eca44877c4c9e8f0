// This file implements CGI scripts written at run time from the perspective of a suite that
// needs a script the committed fixtures do not have (an echo of the query, a sleep of a given
// length, an endless loop) inside its own pool root.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes an executable script `name` (a path relative to `dir`, parent directories created).
 *
 * @returns the absolute path written
 */
export async function writeScript(dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text, { mode: 0o755 });
  return file;
}

/**
 * A `sh` CGI script that sleeps `sleepSeconds` (0: not at all; a decimal such as `0.2` is
 * fine for GNU/busybox `sleep`), then answers `text/plain` with the query string and a newline.
 */
export function echoQueryScript(sleepSeconds = 0): string {
  return [
    '#!/bin/sh',
    '# Written by the test: answers its QUERY_STRING, so each response is checked against its request.',
    ...(sleepSeconds > 0 ? [`sleep ${sleepSeconds}`] : []),
    `printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$QUERY_STRING"`,
    '',
  ].join('\n');
}

/** The body {@link echoQueryScript} answers for `query`. */
export function echoed(query: string): string {
  return `${query}\n`;
}

/**
 * A `sh` CGI script that never ends and never writes: it leaves its pid in `<itself>.pid`,
 * then spins in a busy loop in the shell itself.
 */
export const SPIN_SCRIPT = [
  '#!/bin/sh',
  '# Written by the test: says where it runs, then an endless busy loop, no output.',
  'echo $$ > "$0.pid.tmp" && mv "$0.pid.tmp" "$0.pid"',
  'while true; do :; done',
  '',
].join('\n');
