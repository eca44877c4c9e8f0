// This file implements issue 16's "cgi.FieldStorage forms and uploads, cgitb pages work under
// fork" from the perspective of an HTTP client behind a real nginx: issue 3's classic CGI
// scripts (3-python-cgi-suite.ts) against a pool with `isolation = "fork"`, where each
// request runs in a fresh child of the warm runner.
import { pythonCgiSuite } from './3-python-cgi-suite.ts';

pythonCgiSuite('fork');
