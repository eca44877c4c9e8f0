// This file implements the state policies' tests from the perspective of the node runtime
// putting the worker back after a request: modules loaded during the request, and listeners
// added to process. (Globals: globals-baseline.test.ts.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteLoadedModules, ProcessListeners } from './state-policy.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgi-fpm-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('noteLoadedModules', () => {
  it('forgets the modules loaded since, so they are evaluated afresh', async () => {
    const file = join(dir, 'counter.cjs');
    await writeFile(file, 'let n = 0; module.exports = () => ++n;');
    const load = createRequire(file);
    for (let run = 0; run < 2; run++) {
      const forget = noteLoadedModules();
      expect((load(file) as () => number)()).toBe(1);
      forget();
    }
    const kept = load(file) as () => number;
    kept();
    expect((load(file) as () => number)()).toBe(2);
  });
});

describe('ProcessListeners', () => {
  it('finds and removes the listeners added since the snapshot, once-wrappers included', () => {
    const mine = (): void => undefined;
    process.on('SIGUSR2', mine);
    const listeners = new ProcessListeners();
    const added = (): void => undefined;
    process.on('exit', added);
    process.once('SIGUSR2', added);
    expect(listeners.added('exit')).toEqual([added]);
    expect(listeners.added('SIGUSR2')).toHaveLength(1);
    listeners.restore();
    expect(process.listeners('exit')).not.toContain(added);
    expect(process.listeners('SIGUSR2')).toEqual([mine]);
    process.off('SIGUSR2', mine);
  });
});
