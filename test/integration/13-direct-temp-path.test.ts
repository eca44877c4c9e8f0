// This file implements `[global] fastcgi_temp_path` for `dispatch = "direct"` pools from the
// perspective of an operator who points held output at a disk of their choosing: a direct
// worker (the python worker, the Node worker of a node pool) that holds a response until its
// request's body has ended spills it past 64 KiB into that directory, not the system's
// temporary one (the spill file is unlinked at once: it is found among the worker's open
// descriptors while the body is still on its way), and the response arrives whole once the
// body has ended.
import { mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRawConnection } from './helpers/fastcgi-client.ts';
import { encodeBeginRequest, encodeNameValuePairs, encodeRecord, FCGI, RecordReader } from './helpers/fastcgi-wire.ts';
import { childPids } from './helpers/processes.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const SPILL_DIR = realpathSync(mkdtempSync(join(tmpdir(), 'cgi-fpm-spill-')));
afterAll(() => { rmSync(SPILL_DIR, { recursive: true, force: true }); });

/** Output written before the body is read: past the 64 KiB a hold keeps in memory. */
const OUTPUT_BYTES = 300_000;

const SCRIPTS = {
  python: {
    name: 'hold.py',
    text: [
      'import sys',
      'sys.stdout.buffer.write(b"Content-Type: application/octet-stream\\r\\n\\r\\n")',
      `sys.stdout.buffer.write(bytes(${String(OUTPUT_BYTES)}))`,
      'sys.stdout.flush()',
      'sys.stdout.buffer.write(b"got %d" % len(sys.stdin.buffer.read()))',
      '',
    ].join('\n'),
  },
  node: {
    name: 'hold.js',
    text: [
      "process.stdout.write('Content-Type: application/octet-stream\\r\\n\\r\\n');",
      `process.stdout.write(Buffer.alloc(${String(OUTPUT_BYTES)}));`,
      'const chunks = [];',
      "process.stdin.on('data', (c) => chunks.push(c));",
      "process.stdin.on('end', () => process.stdout.write('got ' + Buffer.concat(chunks).length));",
      '',
    ].join('\n'),
  },
} as const;

/** The open descriptors of `pid` that name a file under `dir` (a deleted one included). */
function filesUnder(pid: number, dir: string): string[] {
  try {
    return readdirSync(`/proc/${String(pid)}/fd`)
      .map((fd) => { try { return readlinkSync(`/proc/${String(pid)}/fd/${fd}`); } catch { return ''; } })
      .filter((target) => target.startsWith(`${dir}/`));
  } catch {
    return [];
  }
}

describe.each(['python', 'node'] as const)('a direct %s pool with fastcgi_temp_path', (runtime) => {
  const script = SCRIPTS[runtime];
  const stack = useStack({
    global: { fastcgi_temp_path: SPILL_DIR },
    pools: async ({ root, fastcgiSocket }) => {
      await writeFile(join(root, script.name), script.text, { mode: 0o755 });
      return {
        main: { ...defaultPool(root, fastcgiSocket), runtime, match: [script.name], dispatch: 'direct', pm: { max_children: 1 } },
      };
    },
  });

  it('spills the output it holds into that directory, and answers whole once the body ended', async () => {
    const s = stack();
    const params = {
      SCRIPT_FILENAME: join(s.root, script.name), SCRIPT_NAME: `/${script.name}`, REQUEST_METHOD: 'POST',
      CONTENT_LENGTH: '10', QUERY_STRING: '', SERVER_PROTOCOL: 'HTTP/1.1', GATEWAY_INTERFACE: 'CGI/1.1',
    };
    const conn = await openRawConnection(s.fastcgiSocket);
    const reader = new RecordReader();
    const stdout: Buffer[] = [];
    let ended = false;
    conn.socket.on('data', (b: Buffer) => {
      for (const record of reader.push(b)) {
        if (record.type === FCGI.FCGI_STDOUT) stdout.push(record.content);
        if (record.type === FCGI.FCGI_END_REQUEST) ended = true;
      }
    });
    try {
      // Half the body: the script has written its output and waits for the rest.
      await conn.write(Buffer.concat([
        encodeBeginRequest(1, false),
        encodeRecord(FCGI.FCGI_PARAMS, 1, encodeNameValuePairs(Object.entries(params))),
        encodeRecord(FCGI.FCGI_PARAMS, 1),
        encodeRecord(FCGI.FCGI_STDIN, 1, Buffer.from('12345')),
      ]));
      const spilled = await waitUntil('a worker holding a spill file in fastcgi_temp_path', () => {
        const found = childPids(s.daemon.pid).flatMap((pid) => filesUnder(pid, SPILL_DIR));
        return found.length > 0 ? found : undefined;
      }, EVENT_TIMEOUT_MS, 20);
      expect(spilled[0]).toMatch(/ \(deleted\)$|^\/.+\/#\d+/);
      expect(stdout).toEqual([]); // held: nothing before the body ended
      await conn.write(Buffer.concat([encodeRecord(FCGI.FCGI_STDIN, 1, Buffer.from('67890')), encodeRecord(FCGI.FCGI_STDIN, 1)]));
      await waitUntil('the END_REQUEST', () => (ended ? true : undefined), EVENT_TIMEOUT_MS, 10);
      const body = Buffer.concat(stdout);
      const text = body.subarray(body.indexOf('\r\n\r\n') + 4);
      expect(text.length).toBe(OUTPUT_BYTES + 'got 10'.length);
      expect(text.subarray(OUTPUT_BYTES).toString()).toBe('got 10');
    } finally {
      conn.socket.destroy();
    }
  });
});
