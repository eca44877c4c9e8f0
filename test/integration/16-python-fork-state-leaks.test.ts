// This file implements issue 16's "every state-leak probe passes under fork" from the
// perspective of an HTTP client behind nginx: the probes of 11-python-state-leaks against a
// pool with `isolation = "fork"`. Each request runs in a fresh child of the runner, so no
// probe's state reaches the next request — the rows persistence keeps or cannot undo
// included — and the runner never needs recycling.
import { leakSuite } from './11-python-leak-suite.ts';

leakSuite({
  fork: { column: 'fork', keys: { isolation: 'fork', preload: ['json'] } },
});
