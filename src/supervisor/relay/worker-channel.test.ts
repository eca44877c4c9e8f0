import { createServer, connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import { RecordType } from '../../fastcgi/constants.ts';
import { NameValueDecoder } from '../../fastcgi/name-value.ts';
import { RecordParser } from '../../fastcgi/parser.ts';
import type { FcgiRecord } from '../../fastcgi/record.ts';
import { encodeEndRequest, encodeStream, encodeStreamEnd } from '../../fastcgi/writer.ts';
import { RelayRequest, type RequestHandler } from './relay-request.ts';
import { WorkerChannel } from './worker-channel.ts';

/** A connected pair of unix sockets: the supervisor's end and the worker's. */
async function socketPair(): Promise<{ ours: Socket; theirs: Socket; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-channel-'));
  const path = join(dir, 's');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const ours = connect(path);
  const theirs = await accepted;
  return {
    ours,
    theirs,
    close: async () => {
      ours.destroy();
      theirs.destroy();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A web-server side that logs what the channel does to it. */
function loggingSink(): RequestHandler & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    write: (buffers: readonly Buffer[]) => { log.push(`write ${buffers.length}`); return true; },
    cork: () => { log.push('cork'); },
    uncork: () => { log.push('uncork'); },
    onDrain: () => undefined,
    finished: () => { log.push('finished'); },
    answer: () => undefined,
    reroute: () => undefined,
    pauseInput: () => undefined,
    resumeInput: () => undefined,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('WorkerChannel', () => {
  it('relays the records of one read from the worker inside one cork (one writev to the web server)', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    const finished: WorkerChannel[] = [];
    const channel = new WorkerChannel(pair.ours, {
      started: () => undefined,
      finished: (c) => finished.push(c),
      aborted: () => undefined,
      protocolError: (_c, err) => { throw err; },
    });
    const received: FcgiRecord[] = [];
    const parser = new RecordParser((record) => received.push(record));
    pair.theirs.on('data', (chunk: Buffer) => { parser.push(chunk); });
    const sink = loggingSink();
    const request = new RelayRequest(7, true, sink, 0);
    request.routing(new NameValueDecoder().finish());
    request.routed({ pool: testPoolConfig(), scriptFilename: Buffer.from('/srv/cgi/a.js'), pathInfo: Buffer.alloc(0) });
    channel.run(request);
    await expect.poll(() => received.some((r) => r.type === RecordType.FCGI_PARAMS && r.content.length === 0)).toBe(true);
    const id = channel.channelId;
    pair.theirs.write(Buffer.concat([
      ...encodeStream(RecordType.FCGI_STDOUT, id, Buffer.from('Content-Type: text/plain\r\n\r\nhi')),
      encodeStreamEnd(RecordType.FCGI_STDOUT, id),
      encodeEndRequest(id, 0, 0),
    ]));
    await expect.poll(() => finished.length).toBe(1);
    expect(sink.log).toEqual(['cork', 'write 3', 'write 1', 'write 2', 'finished', 'uncork']);
    expect(request.state).toBe('finished');
    expect(request.stdoutBytes).toBe(30);
  });
});

describe('WorkerChannel backpressure', () => {
  it('waits on one listener per stream however many records find a socket full', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    const channel = new WorkerChannel(pair.ours, {
      started: () => undefined, finished: () => undefined, aborted: () => undefined,
      protocolError: (_c, err) => { throw err; },
    });
    const drains: (() => void)[] = [];
    const log: string[] = [];
    const full: RequestHandler = {
      ...loggingSink(),
      write: () => false, // the web server's socket is full
      onDrain: (resume) => { drains.push(resume); },
      pauseInput: () => { log.push('pause'); },
      resumeInput: () => { log.push('resume'); },
    };
    const request = new RelayRequest(7, true, full, 0);
    request.routing(new NameValueDecoder().finish());
    request.routed({ pool: testPoolConfig(), scriptFilename: Buffer.from('/srv/cgi/a.js'), pathInfo: Buffer.alloc(0) });
    channel.run(request);
    // The worker never reads: STDIN records fill the channel; one 'drain' listener waits.
    pair.theirs.pause();
    const before = pair.ours.listenerCount('drain');
    const record = Buffer.alloc(60_000, 0x78);
    for (let i = 0; i < 200; i++) request.stdin(record);
    expect(pair.ours.listenerCount('drain') - before).toBe(1);
    // The connection is asked to stop reading once for this request (a request pauses its
    // connection at most once: multiplexing counts the requests that asked).
    expect(log.filter((l) => l === 'pause').length).toBe(1);
    // Many STDOUT records in one read, the web server full: one wait for its drain (the body
    // ended first, or the output would be held until it does: relay/held-response.ts).
    request.stdin(Buffer.alloc(0));
    const id = channel.channelId;
    const stdout = Array.from({ length: 50 }, () => encodeStream(RecordType.FCGI_STDOUT, id, Buffer.from('x'))).flat();
    pair.theirs.write(Buffer.concat(stdout));
    await expect.poll(() => drains.length).toBe(1);
    expect(pair.ours.isPaused()).toBe(true);
    drains[0]?.();
    expect(pair.ours.isPaused()).toBe(false);
  });
});
