// This file implements the tests of the node runtime's loop watch from the perspective of a run
// waiting for its script to finish without an event for it: a change it hears of is looked at in
// the same turn, a wait that ends silently in the timers phase is still seen, and waiting costs a
// handful of looks rather than a spinning loop.
import { describe, expect, it } from 'vitest';
import { LoopWatch } from './loop-watch.ts';

describe('LoopWatch', () => {
  it('looks in this turn after a poke, and no more once the look says done', async () => {
    let looks = 0;
    const watch = new LoopWatch(() => ++looks >= 1);
    watch.poke();
    await new Promise((resolve) => setImmediate(resolve));
    expect(looks).toBe(1);
    watch.poke();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(looks).toBe(1);
  });

  it('sees a wait that ends silently in the timers phase, after a few looks', async () => {
    let done = false;
    let looks = 0;
    const finished = new Promise<void>((resolve) => {
      const watch = new LoopWatch(() => {
        looks++;
        if (done) resolve();
        return done;
      });
      watch.poke();
    });
    // Ends in a timer callback nobody tells the watch about; nothing else wakes the loop.
    setTimeout(() => (done = true), 30).unref();
    await finished;
    // A spinning loop would have looked thousands of times in 30 ms.
    expect(looks).toBeLessThan(50);
  });

  it('stop() drops what was scheduled', async () => {
    let looks = 0;
    const watch = new LoopWatch(() => {
      looks++;
      return false;
    });
    watch.poke();
    watch.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(looks).toBe(0);
  });
});
