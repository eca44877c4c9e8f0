// This file implements a worker process's entry from the perspective of the worker forked by
// the supervisor for an `exec`, `node` or `handler` pool (a python pool's worker is
// runtimes/python/worker.py, same protocol): it closes the descriptors it inherited by accident,
// waits for its pool's config on its control channel (the fd named by its first argument), reads
// FastCGI requests on its channel (fd 3) one at a time, says `ready`, and leaves when told to stop
// or when the supervisor is gone — killing whatever its request started, so no CGI child outlives
// the supervisor.
import { tmpdir } from 'node:os';
import { Socket } from 'node:net';
import { ControlChannel, SUPERVISOR_LINE_MAX_BYTES } from './control-channel.ts';
import { closeInheritedFds } from './inherited-fds.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { LevelWithSilent } from 'pino';
import type { PoolConfig } from '../config/schema.ts';
import { CHANNEL_FD, CHANNEL_REQUEST_FAILED, channelCount, hasType, listenFd, type PoolMessage, type WorkerMessage } from './ipc.ts';
import { FcgiResponderConnection } from './fcgi-connection.ts';
import { RequestServer } from './serve.ts';
import { createRuntime } from './runtimes/index.ts';
import type { RuntimeHost } from './runtimes/types.ts';
import { ScriptDescriptors } from './script-descriptors.ts';
import { DirectWorker } from './direct.ts';
import { startStackSampler } from './runtimes/node/worker-sampler.ts';
import type { JsStackSampler } from './runtimes/node/stack-sampler.ts';

/** The control fd: the supervisor passes it as the first argument (see `controlFd`). */
const CONTROL_FD = Number(process.argv[2]);
/** A direct pool's worker: its listening socket, the fd after the control channel (argv[3]). */
const LAST_OWN_FD = process.argv[3] === String(CONTROL_FD + 1) ? CONTROL_FD + 1 : CONTROL_FD;
// Before anything else opens a descriptor: what this process inherited beyond stdio and its
// channels (a descriptor its launcher leaked to the daemon) must reach no script.
closeInheritedFds(LAST_OWN_FD);

/** Where the supervisor's messages go: set once the control channel is open. */
const received: { message: (m: unknown) => void; close: () => void } = {
  message: () => undefined,
  close: () => undefined,
};
const controlSocket = new Socket({ fd: CONTROL_FD, readable: true, writable: true });
const control = new ControlChannel(controlSocket, {
  message: (m) => { received.message(m); },
  invalid: () => { process.exitCode = 70; },
  close: () => { received.close(); },
}, SUPERVISOR_LINE_MAX_BYTES);

/** The slow-log stack sampler thread (node and handler pools with a slow log), once started. */
let sampler: JsStackSampler | undefined;

function send(message: WorkerMessage): void {
  if (!control.open) return;
  if (sampler === undefined) {
    control.send(message, (err) => {
      if (err !== null) process.exitCode = 70;
    });
    return;
  }
  // The sampler thread writes to the same fd: one whole line at a time, under its lock.
  sampler.exclusive((release) => {
    control.send(message, (err) => {
      if (err !== null) process.exitCode = 70;
      release();
    });
    if (controlSocket.writableLength === 0) release();
  });
}

/** Leaves the control channel (the worker exits once nothing else keeps it alive). */
function disconnect(): void {
  control.close();
}

/** The channel fds of this worker: 3, or 3…3+N-1 for a handler pool with `handler.concurrency = N`. */
function channelFds(pool: PoolConfig): number[] {
  const count = channelCount(pool);
  return Array.from({ length: count }, (_, i) => CHANNEL_FD + i);
}

/** Process groups of the CGI children running now (killed at once if the supervisor dies). */
const cgiGroups = new Set<number>();

/**
 * After each request: `pm.max_memory` — when this worker's resident memory (plus its runtime
 * child's, e.g. python) passed the limit, ask the supervisor to replace it.
 */
function checkMemory(pool: PoolConfig, runtime: RuntimeHost): void {
  const limit = pool.pm.maxMemoryBytes;
  if (limit <= 0) return;
  void (runtime.childRssBytes?.() ?? Promise.resolve(0)).then((child) => {
    const rssBytes = process.memoryUsage.rss() + child;
    if (rssBytes > limit) send({ type: 'recycle', reason: 'max_memory', rssBytes });
  });
}

/** Reads FastCGI requests on one channel, one at a time. */
function serveChannel(fd: number, pool: PoolConfig, runtime: RuntimeHost, log: Logger) {
  const run = sampler === undefined ? runtime.run : sampler.track(fd - CHANNEL_FD, runtime.run);
  const channel = new Socket({ fd, readable: true, writable: true });
  const connection = new FcgiResponderConnection(channel, { values: { FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1' } });
  let pgid = 0;
  // Checked script descriptors kept across requests (one `stat` per request instead of an
  // open, a readlink, an fstat and a close).
  const scripts = new ScriptDescriptors();
  const server = new RequestServer(pool, {
    log, inherited: process.env, now: () => Date.now(), runtime: run,
    openScript: (path, use) => scripts.open(path, use),
    failedProtocolStatus: CHANNEL_REQUEST_FAILED,
    onCgiGroup: (requestId, group) => {
      // Python pools have their own worker (worker.py), which reports its runners' groups as
      // persistent: here every group is the request's own.
      pgid = group;
      cgiGroups.add(group);
      send({ type: 'cgi-group', requestId, pgid: group, persistent: false });
    },
    afterRequest: () => {
      if (pgid !== 0) cgiGroups.delete(pgid);
      pgid = 0;
      runtime.afterEnd?.();
      checkMemory(pool, runtime);
    },
  });
  connection.on('request', server.handle);
  return { channel, connection, server };
}

/** Ends `channel` once its pending writes are out (at most 1 s), then destroys it. */
async function flushAndClose(channel: Socket): Promise<void> {
  if (channel.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000);
    channel.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  channel.destroy();
}

/** The async resources waited on now, minus one of each kind `baseline` had (the worker's own). */
function pendingResources(baseline: readonly string[]): string[] {
  const left = [...baseline];
  return process.getActiveResourcesInfo().filter((name) => {
    const i = left.indexOf(name);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

async function start(message: PoolMessage): Promise<void> {
  // `umask`: set before the runtime loads, so the scripts and the python runner inherit it.
  if (message.pool.umask !== undefined) process.umask(message.pool.umask);
  const log: Logger = createLogger({
    level: message.logLevel as LevelWithSilent, pretty: message.pretty, base: { pool: message.pool.name },
  });
  // A stop (or the supervisor's death) may come while the runtime loads: remember it.
  const requested = { stop: false };
  received.message = (m: unknown): void => { if (hasType(m) && m.type === 'stop') requested.stop = true; };
  received.close = (): void => { process.exit(1); };
  let runtime: RuntimeHost;
  // Started alongside the runtime (its thread boots while the runtime loads).
  const sampling = startStackSampler(message.pool, CONTROL_FD, log);
  try {
    runtime = await createRuntime(message.pool, {
      log,
      inherited: process.env,
      recycle: (detail) => { send({ type: 'recycle', reason: 'state', rssBytes: process.memoryUsage.rss(), detail }); },
    });
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    log.error({ err: text }, 'worker failed to start');
    void sampling.then((s) => s?.close());
    send({ type: 'start-failed', message: text });
    process.exitCode = 1;
    received.close = () => undefined;
    disconnect();
    return;
  }
  sampler = await sampling;
  received.message = () => undefined;
  received.close = () => undefined;
  if (requested.stop) {
    await sampler?.close();
    await runtime.close();
    disconnect();
    return;
  }
  if (message.pool.dispatch === 'direct') {
    serveDirect(message, runtime, log);
    return;
  }
  const servers = channelFds(message.pool).map((fd) => serveChannel(fd, message.pool, runtime, log));
  let leaving = false;
  const leave = (): void => {
    if (leaving) return;
    leaving = true;
    void Promise.all(servers.map((s) => new Promise<void>((resolve) => { s.server.stopWhenIdle(resolve); })))
      .then(async () => {
        // END_REQUEST may still be queued on a channel: flush before closing.
        await Promise.all(servers.map(async (s) => { await flushAndClose(s.channel); }));
        await runtime.close();
        // The thread writes nothing once stopped: the channel may close.
        await sampler?.close();
      })
      .finally(() => { received.close = () => undefined; disconnect(); });
  };
  for (const { connection } of servers) {
    connection.on('protocol-error', (err: Error) => {
      log.error({ err: err.message }, 'protocol error');
      leave();
    });
    connection.on('close', leave);
  }
  // The worker's own async resources (its channels, timers of its own), left out of samples.
  const baseline = process.getActiveResourcesInfo();
  received.message = (m: unknown) => {
    if (!hasType(m)) return;
    if (m.type === 'stop') leave();
    else if (m.type === 'stack-sample') send({ type: 'stack', resources: pendingResources(baseline) });
  };
  // The supervisor is gone (even kill -9): nothing of ours may outlive it, so no grace here.
  received.close = () => {
    if (leaving) return;
    for (const pgid of cgiGroups) killGroup(pgid);
    void runtime.close().finally(() => { process.exit(1); });
    setTimeout(() => { process.exit(1); }, 500).unref();
  };
  send({ type: 'ready' });
}

/**
 * `dispatch = "direct"`: accept on the pool's socket (the fd after the control channel) instead
 * of reading channels; the heartbeat's `state` queries are answered from the scoreboard.
 */
function serveDirect(message: PoolMessage, runtime: RuntimeHost, log: Logger): void {
  const direct = new DirectWorker(message.pool, {
    log, runtime, send, now: () => Date.now(), maxRequests: message.maxRequests ?? 0,
    tempPath: message.tempPath ?? tmpdir(),
    afterRequest: () => { checkMemory(message.pool, runtime); },
    done: () => {
      // The scoreboard's last word: the supervisor's counts then include every request.
      send(direct.state());
      void runtime.close().finally(() => { received.close = () => undefined; disconnect(); });
    },
  });
  received.message = (m: unknown) => {
    if (!hasType(m)) return;
    if (m.type === 'stop') direct.stop();
    else if (m.type === 'state') send(direct.state());
  };
  // The supervisor is gone (even kill -9): nothing of ours may outlive it.
  received.close = () => {
    void runtime.close().finally(() => { process.exit(1); });
    setTimeout(() => { process.exit(1); }, 500).unref();
  };
  direct.start(listenFd(message.pool));
  log.info({ listen: 'direct' }, 'worker accepting directly');
  send({ type: 'ready' });
}

received.message = (message: unknown) => {
  received.message = () => undefined;
  if (hasType(message) && message.type === 'pool') void start(message as PoolMessage);
};
received.close = () => { process.exit(1); };
