// This file implements a stand-in for systemd's notification socket from the perspective of a
// test that must read what cgi-fpm tells systemd: Node cannot receive AF_UNIX datagrams, so a
// small python3 process binds the NOTIFY_SOCKET path, receives each datagram with its sender's
// credentials, closes any fd passed with it (systemd-notify's BARRIER=1 waits for that), and
// writes it to stdout as one JSON line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogCollector } from './log-collector.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

/** One datagram received. */
export interface Notification {
  /** The `KEY=VALUE` assignments, in order. */
  readonly fields: readonly string[];
  /** The sender's pid (SCM_CREDENTIALS). */
  readonly pid: number;
}

/** A bound notification socket and what arrived on it. */
export interface NotifyReceiver {
  /** The socket path, for `NOTIFY_SOCKET`. */
  readonly path: string;
  /** Every datagram so far, in order, except systemd-notify's `BARRIER=1`. */
  readonly received: readonly Notification[];
  /**
   * Resolves with the first notification at index `since` or later that has every field of
   * `match` (e.g. `["READY=1"]`, or a prefix ending in `=`: `"STATUS="`), or satisfies it.
   * @throws Error listing what arrived when the bound passes
   */
  waitFor(
    match: readonly string[] | ((n: Notification) => boolean),
    timeoutMs?: number,
    since?: number,
  ): Promise<Notification>;
  /** Kills the receiver. */
  stop(): Promise<void>;
}

const RECEIVER_PY = String.raw`
import array, json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(64))
    pid = 0
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack('iII', payload[:12])[0]
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array('i')
            fds.frombytes(payload[:len(payload) - len(payload) % 4])
            for fd in fds:
                os.close(fd)
    print(json.dumps({'fields': data.decode().split('\n'), 'pid': pid}), flush=True)
`;

/** True when a notification has every wanted field (`KEY=` matches any value of KEY). */
export function hasFields(notification: Notification, fields: readonly string[]): boolean {
  return fields.every((want) =>
    notification.fields.some((f) => (want.endsWith('=') ? f.startsWith(want) : f === want)),
  );
}

/** Binds `dir/notify.sock` with a python3 receiver and resolves once it is bound. */
export async function startNotifyReceiver(dir: string): Promise<NotifyReceiver> {
  const script = join(dir, 'notify-receiver.py');
  const path = join(dir, 'notify.sock');
  await writeFile(script, RECEIVER_PY);
  const child = spawn('python3', [script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collector = new LogCollector();
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    collector.push(chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.once('error', (err) => {
    stderr += `spawn python3: ${err.message}`;
  });
  const exited = new Promise<void>((resolve) =>
    child.once('close', () => {
      resolve();
    }),
  );
  const all = (): Notification[] => collector.entries.map((e) => e as unknown as Notification);
  const received = (): Notification[] => all().filter((n) => !hasFields(n, ['BARRIER=1']));
  await waitUntil(
    `notify receiver bound at ${path}`,
    () => {
      if (child.exitCode !== null || stderr !== '') throw new Error(`notify receiver failed: ${stderr}`);
      return existsSync(path);
    },
    EVENT_TIMEOUT_MS,
  );
  return {
    path,
    get received() {
      return received();
    },
    waitFor: async (match, timeoutMs = EVENT_TIMEOUT_MS, since = 0) => {
      const test = typeof match === 'function' ? match : (n: Notification) => hasFields(n, match);
      const what = typeof match === 'function' ? 'notification' : `notification with ${match.join(', ')}`;
      try {
        return await waitUntil(what, () => received().slice(since).find(test), timeoutMs, 20);
      } catch (err) {
        throw new Error(
          `${(err as Error).message}; received: ${JSON.stringify(received())}; stderr: ${stderr}`,
          { cause: err },
        );
      }
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
