// This file implements issue 11's "a real Mercurial hgweb clone and push work in a python pool
// with the default config when another python3 comes first on PATH" from the perspective of a
// user running `hg` against nginx: hgweb.cgi names its interpreter in its #! line
// (/usr/bin/env python3, or /usr/bin/python3), and that interpreter, the one Mercurial is
// installed for, runs it; the pool's fallback python3 (the decoy) never does.
import { hgwebSuite } from './11-python-hgweb-suite.ts';

hgwebSuite({});
