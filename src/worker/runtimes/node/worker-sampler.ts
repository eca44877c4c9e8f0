// This file implements the choice of a worker to run the slow-log stack sampler thread, from the
// perspective of a worker starting with its pool: only `node` and `handler` pools (their scripts
// run on the worker's main thread) with `request_slowlog_timeout`, `slowlog` and
// `slowlog_stack` set pay for the thread; a thread that cannot start is logged, and the worker
// serves on without JavaScript stacks.
import type { PoolConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../log/logger.ts';
import { channelCount, samplesJsStack } from '../../ipc.ts';
import { JsStackSampler } from './stack-sampler.ts';

/**
 * Starts the sampler thread of a worker of `pool` writing to control fd `fd`; undefined when the
 * pool does not sample or the thread failed to start (logged: `stack sampler not started`).
 * Never rejects.
 */
export async function startStackSampler(pool: PoolConfig, fd: number, log: Logger): Promise<JsStackSampler | undefined> {
  if (!samplesJsStack(pool)) return undefined;
  try {
    return await JsStackSampler.start({ fd, slots: channelCount(pool), timeoutMs: pool.requestSlowlogTimeoutMs });
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'stack sampler not started');
    return undefined;
  }
}
