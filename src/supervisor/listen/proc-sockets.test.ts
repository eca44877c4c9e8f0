// This file implements the tests of proc-sockets.ts and listen-holder.ts's `serverFd` from the
// perspective of the supervisor looking for its own listening socket's descriptor: the kernel
// tables are read by inode, only listening sockets count, and a real server is found.
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serverFd } from './listen-holder.ts';
import { listeningInodes, ownSocketFds, type ProcFiles } from './proc-sockets.ts';

const UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 111 /run/a.sock
0000000000000000: 00000003 00000000 00000000 0001 03 222 /run/a.sock
0000000000000000: 00000002 00000000 00010000 0001 01 333 /run/with space.sock
`;
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2329 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0
   1: 0100007F:2329 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 555 1 0
`;

const fake: ProcFiles = {
  fds: () => ['0', '7', '9'],
  link: (fd) => ({ '0': '/dev/null', '7': 'socket:[111]', '9': 'socket:[444]' })[fd],
  table: (name) => (name === 'unix' ? UNIX : name === 'tcp' ? TCP : ''),
};

describe('proc-sockets', () => {
  it('maps this process\'s socket inodes to their descriptors', () => {
    expect(ownSocketFds(fake)).toEqual(new Map([['111', 7], ['444', 9]]));
  });

  it('lists only listening sockets on the path or port', () => {
    expect(listeningInodes({ kind: 'unix', path: '/run/a.sock' }, fake)).toEqual(['111']);
    expect(listeningInodes({ kind: 'unix', path: '/run/with space.sock' }, fake)).toEqual(['333']);
    expect(listeningInodes({ kind: 'tcp', host: '127.0.0.1', port: 9001 }, fake)).toEqual(['444']);
    expect(listeningInodes({ kind: 'tcp', host: '127.0.0.1', port: 9002 }, fake)).toEqual([]);
  });
});

async function listening(server: Server, options: { path: string } | { host: string; port: number }): Promise<void> {
  await new Promise<void>((resolve) => { server.listen(options, resolve); });
}

describe('serverFd on the real /proc', () => {
  it('finds each listening server\'s own descriptor, unix and tcp', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-procfd-'));
    const servers = [createServer(), createServer(), createServer()];
    try {
      const [a, b, t] = servers as [Server, Server, Server];
      await listening(a, { path: join(dir, 'a.sock') });
      await listening(b, { path: join(dir, 'b.sock') });
      await listening(t, { host: '127.0.0.1', port: 0 });
      const port = (t.address() as { port: number }).port;
      const fds = [
        serverFd({ kind: 'unix', path: join(dir, 'a.sock') }),
        serverFd({ kind: 'unix', path: join(dir, 'b.sock') }),
        serverFd({ kind: 'tcp', host: '127.0.0.1', port }),
      ];
      expect(new Set(fds).size).toBe(3);
      expect(() => serverFd({ kind: 'unix', path: join(dir, 'none.sock') })).toThrow(/cannot find the listening socket/);
    } finally {
      for (const s of servers) s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
