// This file implements the tests of the bench's Node floor from the perspective of nginx: each
// request gets the hello page and its FCGI_END_REQUEST, however the bytes are split; the
// connection stays for the next request with FCGI_KEEP_CONN and ends after the answer without.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeEndRequest,
  encodeRequest,
  FCGI,
  RecordReader,
  type WireRecord,
} from '../../test/integration/helpers/fastcgi-wire.ts';
import { HELLO_BODY } from '../workspace.ts';
import { serveFloorConnection } from './fcgi-floor-connection.ts';

const PARAMS: [string, string][] = [['SCRIPT_NAME', '/hello'], ['REQUEST_METHOD', 'GET']];

let dir: string;
let server: Server;
let socketPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-floor-'));
  socketPath = join(dir, 'floor.sock');
  server = createServer(serveFloorConnection);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  await rm(dir, { recursive: true, force: true });
});

/** Connects, and collects records until `count` END_REQUESTs came (or the server ended). */
function connect(): Promise<{ socket: Socket; answers: (count: number) => Promise<WireRecord[][]>; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const reader = new RecordReader();
    const records: WireRecord[] = [];
    let wake = (): void => undefined;
    socket.on('data', (chunk: Buffer) => {
      records.push(...reader.push(chunk));
      wake();
    });
    const ended = new Promise<void>((done) => socket.once('end', () => { done(); }));
    const answers = (count: number): Promise<WireRecord[][]> => new Promise((done) => {
      const check = (): void => {
        const ends = records.filter((r) => r.type === FCGI.FCGI_END_REQUEST).length;
        if (ends < count) return;
        const out: WireRecord[][] = [[]];
        for (const record of records) {
          out[out.length - 1]?.push(record);
          if (record.type === FCGI.FCGI_END_REQUEST) out.push([]);
        }
        done(out.slice(0, count));
      };
      wake = check;
      check();
    });
    socket.once('connect', () => { resolve({ socket, answers, ended }); });
    socket.once('error', reject);
  });
}

function expectHello(answer: WireRecord[] | undefined): void {
  const stdout = Buffer.concat((answer ?? []).filter((r) => r.type === FCGI.FCGI_STDOUT).map((r) => r.content));
  expect(stdout.toString('latin1')).toBe(`Content-Type: text/plain\r\n\r\n${HELLO_BODY}`);
  const end = answer?.at(-1);
  expect(end?.type).toBe(FCGI.FCGI_END_REQUEST);
  expect(decodeEndRequest(end?.content ?? Buffer.alloc(8))).toEqual({ appStatus: 0, protocolStatus: 0 });
  // The stream's end record comes before END_REQUEST.
  expect(answer?.at(-2)).toMatchObject({ type: FCGI.FCGI_STDOUT, content: Buffer.alloc(0) });
}

describe('bench node floor', () => {
  it('answers requests one after another on a kept connection (FCGI_KEEP_CONN)', async () => {
    const client = await connect();
    client.socket.write(encodeRequest(1, PARAMS, Buffer.alloc(0), true));
    const [first] = await client.answers(1);
    expectHello(first);
    client.socket.write(encodeRequest(1, PARAMS, Buffer.from('a body'), true));
    const answers = await client.answers(2);
    expectHello(answers[1]);
    expect(client.socket.readableEnded).toBe(false);
    client.socket.destroy();
  });

  it('ends the connection after the answer without FCGI_KEEP_CONN, bytes split one by one', async () => {
    const client = await connect();
    for (const byte of encodeRequest(3, PARAMS, Buffer.alloc(0), false)) client.socket.write(Buffer.from([byte]));
    const [answer] = await client.answers(1);
    expectHello(answer);
    expect(answer?.every((r) => r.requestId === 3)).toBe(true);
    await client.ended;
    client.socket.destroy();
  });
});
