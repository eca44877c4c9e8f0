// This file implements issue 11's "reset means reset" from the perspective of an HTTP client
// behind nginx attacking the privacy boundary between requests of a persistent python pool:
// every row of docs/ISOLATION.md's state table, under `state.* = "reset"` (the default) and
// `"keep"`. Each probe changes one kind of interpreter state (a value on builtins, a patched
// os.urandom and json.dumps, a thread that prints into the next request, a forked child, an
// open descriptor, an audit hook, …) and the next request checks it: gone, kept where the
// table says keep keeps it, or the runner recycled (logged with the reason).
import { leakSuite } from './11-python-leak-suite.ts';

leakSuite({
  reset: { column: 'reset', keys: { preload: ['json'] } },
  keep: { column: 'keep', keys: { preload: ['json'], 'state.modules': 'keep', 'state.globals': 'keep' } },
});
