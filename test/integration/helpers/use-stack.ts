// This file implements per-suite lifecycle from the perspective of a vitest file: start the
// daemon + nginx stack before the suite's tests and stop it (by PID) after them.
import { afterAll, beforeAll } from 'vitest';
import { startStack, type Stack, type StackOptions } from './stack.ts';

/**
 * Registers `beforeAll`/`afterAll` hooks for one stack and returns a getter for it.
 *
 * @throws Error from the getter when called before the stack started (or after it failed)
 */
export function useStack(options: StackOptions = {}): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack(options);
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return () => {
    if (stack === undefined) throw new Error('stack: not started (see the beforeAll error)');
    return stack;
  };
}
