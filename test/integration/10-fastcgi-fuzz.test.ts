// This file implements the fuzz test of issue 10 from the perspective of a hostile client on
// the pool socket: at least 100,000 mutated FastCGI inputs (seeded: FUZZ_SEED, default below;
// the same seed sends the same inputs), each on its own connection, 128 at a time, against the
// running supervisor with a handler pool behind it, and a sanity request between every 2,000
// inputs that must be answered 200. It asserts that the supervisor never exits, never logs an
// uncaught error, and answers every sanity request. Bounded in time: inputs stop at the count
// or at FUZZ_BUDGET_MS, and the count reached is asserted (the run prints it).
import { writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { connectRetrying, fcgiRequest } from './helpers/fastcgi-client.ts';
import { isProcessAlive } from './helpers/processes.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';
import { corpus, mutatedInput, Random } from './fuzz/fastcgi-mutator.ts';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 100_000);
const PARALLEL = Number(process.env.FUZZ_PARALLEL ?? 128);
const SANITY_EVERY = 2000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x10c0ffee);
/** The bound on the whole run (not an assertion of speed: the count reached is what is asserted). */
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 900_000);
/** How long one input's connection waits for the daemon once quiet, before the client closes it. */
const QUIET_MS = Number(process.env.FUZZ_QUIET_MS ?? 10);

const HANDLER = "// Written by the fuzz test.\nmodule.exports = (req, res) => { req.resume(); req.on('end', () => { res.end('ok'); }); };\n";

const stack = useStack({
  global: { log_level: 'info', client_header_timeout: '5s', keepalive_timeout: '5s' },
  pools: async ({ dir, root, fastcgiSocket }) => {
    const module = join(dir, 'fuzz-handler.cjs');
    await writeFile(module, HANDLER);
    return {
      main: {
        listen: fastcgiSocket, 'listen.mode': '0666', root, runtime: 'handler', 'handler.module': module,
        'handler.concurrency': 8, pm: { max_children: 2 }, match: ['**'], request_terminate_timeout: '10s',
      },
    };
  },
});

/** Sends `input` on a fresh connection; resolves once the daemon closed it or went quiet. */
function send(socketPath: string, input: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    let quiet: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(quiet);
      socket.destroy();
      resolve();
    };
    const rearm = (): void => {
      clearTimeout(quiet);
      quiet = setTimeout(done, QUIET_MS);
    };
    socket.on('connect', () => { socket.write(input, rearm); });
    socket.on('data', rearm);
    socket.on('error', done);
    socket.on('close', done);
  });
}

describe('fuzzed FastCGI input on the pool socket', () => {
  it(`survives ${INPUTS} mutated inputs (seed ${SEED}) and answers every sanity request`, { timeout: BUDGET_MS + 120_000 }, async () => {
    const { daemon, root, fastcgiSocket } = stack();
    const params = nginxLikeParams(root, '/fuzz/ok', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '7' });
    const entries = corpus(params, nginxLikeParams(root, '/no/such/script.sh'));
    const rnd = new Random(SEED);
    const started = Date.now();
    let sent = 0;
    let sanity = 0;
    const sane = async (): Promise<void> => {
      const answer = await connectRetrying(() => fcgiRequest({ socketPath: fastcgiSocket, params: nginxLikeParams(root, '/fuzz/sane'), timeoutMs: EVENT_TIMEOUT_MS }));
      expect([parseCgiResponse(answer.stdout).status, parseCgiResponse(answer.stdout).body.toString()], `sanity request after ${sent} inputs (seed ${SEED})`).toEqual([200, 'ok']);
      sanity += 1;
    };
    await sane();
    while (sent < INPUTS && Date.now() - started < BUDGET_MS) {
      const batch = Math.min(SANITY_EVERY, INPUTS - sent);
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < batch) {
          next += 1;
          await send(fastcgiSocket, mutatedInput(rnd, entries));
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, lane));
      sent += batch;
      expect(isProcessAlive(daemon.pid), `supervisor alive after ${sent} inputs (seed ${SEED})`).toBe(true);
      await sane();
    }
    console.log(`fuzz: ${sent} inputs, ${sanity} sanity requests answered, seed ${SEED}, ${Date.now() - started} ms`);
    expect(sent).toBeGreaterThanOrEqual(INPUTS);
    expect(daemon.logs.filter((l) => l.msg?.startsWith('uncaught error') === true)).toEqual([]);
    expect(isProcessAlive(daemon.pid)).toBe(true);
  });
});
