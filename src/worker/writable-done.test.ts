// This file implements the tests of writable-done.ts from the perspective of per-request code
// waiting for a response stream: once on finish, once on destroy, at once when already done,
// and nothing after cancelling.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { whenWritableDone } from './writable-done.ts';

const sink = (): Writable =>
  new Writable({
    write: (_chunk, _encoding, callback) => {
      callback();
    },
  });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('whenWritableDone', () => {
  it('calls back once on finish, and removes its listeners', async () => {
    const stream = sink();
    let calls = 0;
    whenWritableDone(stream, () => calls++);
    stream.end('x');
    await turn();
    stream.destroy();
    await turn();
    expect(calls).toBe(1);
    expect(stream.listenerCount('finish') + stream.listenerCount('close')).toBe(0);
  });

  it('calls back on destroy, and at once for a stream already done', async () => {
    const destroyed = sink();
    let calls = 0;
    whenWritableDone(destroyed, () => calls++);
    destroyed.destroy();
    await turn();
    whenWritableDone(destroyed, () => calls++);
    await turn();
    expect(calls).toBe(2);
  });

  it('never calls back once cancelled', async () => {
    const stream = sink();
    let calls = 0;
    whenWritableDone(stream, () => calls++)();
    stream.end();
    const done = sink();
    done.destroy();
    whenWritableDone(done, () => calls++)();
    await turn();
    expect(calls).toBe(0);
  });
});
