// This file implements a worker process's entry from the perspective of the worker forked by
// the supervisor: it waits for its pool's config on IPC, reads FastCGI requests on its channel
// (fd 3) one at a time, says `ready`, and leaves when told to stop or when the supervisor is
// gone — killing whatever its request started, so no CGI child outlives the supervisor.
import { Socket } from 'node:net';
import { createLogger, type Logger } from '../log/logger.ts';
import type { LevelWithSilent } from 'pino';
import { CHANNEL_FD, hasType, type PoolMessage, type WorkerMessage } from './ipc.ts';
import { FcgiResponderConnection } from './fcgi-connection.ts';
import { RequestServer } from './serve.ts';

function send(message: WorkerMessage): void {
  if (process.send === undefined || !process.connected) return;
  process.send(message, undefined, {}, (err: Error | null) => {
    if (err !== null) process.exitCode = 70;
  });
}

function start(message: PoolMessage): void {
  const log: Logger = createLogger({
    level: message.logLevel as LevelWithSilent, pretty: message.pretty, base: { pool: message.pool.name },
  });
  const channel = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  const connection = new FcgiResponderConnection(channel, { values: { FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1' } });
  const server = new RequestServer(message.pool, {
    log, inherited: process.env, now: () => Date.now(),
    onCgiGroup: (requestId, pgid) => { send({ type: 'cgi-group', requestId, pgid }); },
  });
  const leave = (): void => {
    server.stopWhenIdle(() => {
      channel.destroy();
      if (process.connected) process.disconnect();
    });
  };
  connection.on('request', server.handle);
  connection.on('protocol-error', (err: Error) => {
    log.error({ err: err.message }, 'protocol error');
    leave();
  });
  connection.on('close', leave);
  process.on('message', (m: unknown) => { if (hasType(m) && m.type === 'stop') leave(); });
  process.on('disconnect', () => {
    server.abortAll();
    leave();
  });
  send({ type: 'ready' });
}

process.once('message', (message: unknown) => {
  if (hasType(message) && message.type === 'pool') start(message as PoolMessage);
});
