// This file implements issue 16's "Mercurial hgweb clone/push work under fork" from the
// perspective of a user running `hg` against nginx: the hgweb suite (11-python-hgweb-suite.ts)
// against a pool with `isolation = "fork"`, each of hg's requests in a fresh child of the
// runner of the interpreter hgweb.cgi names.
import { hgwebSuite } from './11-python-hgweb-suite.ts';

hgwebSuite({ isolation: 'fork' });
