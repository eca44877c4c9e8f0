import { describe, expect, it } from 'vitest';
import { RunAbort } from './run-abort.ts';

describe('RunAbort', () => {
  it('calls each listener once, then the signal made before the abort', () => {
    const abort = new RunAbort();
    const calls: string[] = [];
    abort.onAbort(() => calls.push('a'));
    const remove = abort.onAbort(() => calls.push('removed'));
    remove();
    const signal = abort.signal;
    signal.addEventListener('abort', () => calls.push('signal'));
    expect(abort.aborted).toBe(false);
    abort.abort();
    abort.abort();
    expect(calls).toEqual(['a', 'signal']);
    expect(abort.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('AbortError');
  });

  it('makes a signal already aborted, with the reason, when read after the abort', () => {
    const abort = new RunAbort();
    const reason = new Error('worker: parent gone');
    abort.abort(reason);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(reason);
  });

  it('calls a listener added after the abort at once', () => {
    const abort = new RunAbort();
    abort.abort();
    let called = 0;
    abort.onAbort(() => called++);
    expect(called).toBe(1);
  });
});
