// This file implements well-known paths from the perspective of an integration test that runs
// the built daemon and the committed fixtures, wherever the repository is checked out.
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (ends without a slash). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** The built CLI entry point (`npm run build` makes it). */
export const CLI_MAIN = `${REPO_ROOT}/dist/cli/main.js`;

/** The committed CGI fixtures: scripts a pool's root is copied from. */
export const FIXTURES_CGI_BIN = `${REPO_ROOT}/test/integration/fixtures/cgi-bin`;

/** Committed scripts that live beside the root and must never run (traversal targets). */
export const FIXTURES_OUTSIDE = `${REPO_ROOT}/test/integration/fixtures/outside`;

/** The web server's stock FastCGI parameter file (Debian's nginx package). */
export const NGINX_FASTCGI_PARAMS = '/etc/nginx/fastcgi_params';

/** The nginx binary the tests run. */
export const NGINX_BIN = '/usr/sbin/nginx';

/** The Apache httpd binary the tests run (Debian's apache2 package). */
export const APACHE_BIN = '/usr/sbin/apache2';

/** Where Debian's apache2 and libapache2-mod-fcgid packages put the shared modules. */
export const APACHE_MODULES_DIR = '/usr/lib/apache2/modules';
