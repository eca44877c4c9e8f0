// This file implements reading a server's log file from the perspective of a bench row that
// shows what the server complained about: the text so far, nothing while it does not exist.
import { readFileSync } from 'node:fs';

/** The file's text, or `""` while it does not exist or cannot be read. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
