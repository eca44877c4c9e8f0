// This file implements the tests of builtin-objects.ts from the perspective of the reset that
// compares built-in objects: the module system's own state (`require.cache`) is not among them,
// or `state.modules = "keep"` would lose every kept module at the next scan.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { WatchedObjects } from './builtin-objects.ts';

describe('WatchedObjects', () => {
  it("watches the 'module' exports but not require.cache or the path cache", () => {
    const load = createRequire(import.meta.url);
    const watched = new WatchedObjects().module('module', load('module'));
    const objects = watched.map((w) => w.object);
    expect(objects).toContain(load('module'));
    expect(objects).not.toContain(load.cache);
    expect(watched.map((w) => w.name)).not.toContain("require('module')._pathCache");
  });
});
