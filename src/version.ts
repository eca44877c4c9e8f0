// This file implements the daemon's self-description (package version) from the perspective
// of a CGI script reading SERVER_SOFTWARE (RFC 3875 §4.1.17) and of `cgi-fpm --version`.
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** The package version, from package.json. */
export const VERSION = pkg.version;

/** `cgi-fpm/<version>`, the value of SERVER_SOFTWARE. @see RFC 3875 §4.1.17 */
export const SERVER_SOFTWARE = `cgi-fpm/${VERSION}`;
