// This file implements issue 3's python runtime checks from the perspective of an HTTP client
// behind a real nginx: unmodified classic CGI scripts (environment, cgi.FieldStorage GET, POST
// and multipart upload, http.cookies, cgitb) answer as they would under CGI, from one
// persistent python3 child per worker (the suite: 3-python-cgi-suite.ts).
import { pythonCgiSuite } from './3-python-cgi-suite.ts';

pythonCgiSuite('persistent');
