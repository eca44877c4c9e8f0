// This file implements the pre-flight check from the perspective of one bench row: before wrk
// counts anything, one request must come back 200 with exactly the hello body, so a row only
// measures a target that works (and a broken one says why).
import { get } from 'node:http';
import { HELLO_BODY } from './workspace.ts';

/** What one request to a target returned. */
interface Answer {
  readonly status: number;
  readonly body: string;
}

function fetchOnce(url: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body });
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no response within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/**
 * GETs `url` once; the first request also waits for the pool's workers to start.
 *
 * @throws Error `probe: HTTP 502: <body>` (or the socket error) unless the answer is 200 with
 *   the hello body
 */
export async function probe(url: string, timeoutMs: number): Promise<void> {
  let answer: Answer;
  try {
    answer = await fetchOnce(url, timeoutMs);
  } catch (err) {
    throw new Error(`probe: ${(err as Error).message}`, { cause: err });
  }
  if (answer.status !== 200 || answer.body !== HELLO_BODY) {
    // An error page says what it is in its text; the markup around it is noise in a table.
    const body = answer.body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 160);
    throw new Error(`probe: HTTP ${answer.status}: ${JSON.stringify(body)} (expected 200 "${HELLO_BODY}")`);
  }
}
