// This file implements the nginx site under test from the perspective of a suite that puts a
// real nginx in front of cgi-fpm: the `http {}` content that routes every request to the
// daemon's unix socket the way a production site would.
import { NGINX_FASTCGI_PARAMS } from './paths.ts';

/** Options for {@link fastcgiSite}. */
export interface FastcgiSiteOptions {
  /** Unix socket nginx listens on for HTTP (absolute path). */
  readonly httpSocket: string;
  /** The daemon's FastCGI unix socket (absolute path). */
  readonly fastcgiSocket: string;
  /** Document root: must equal the pool's root so `SCRIPT_FILENAME` falls inside it. */
  readonly root: string;
  /**
   * Keep FastCGI connections to the daemon open between requests
   * (`upstream { keepalive 16; }` + `fastcgi_keep_conn on`).
   * @defaultValue false
   */
  readonly keepAlive?: boolean;
  /** Also listen on this 127.0.0.1 port (for clients that speak only TCP: git, hg). */
  readonly tcpPort?: number;
}

/**
 * Renders the `http {}` level directives: an upstream for the daemon and one server on a unix
 * socket passing every request to it, with `PATH_INFO` split after the script's extension.
 */
export function fastcgiSite(options: FastcgiSiteOptions): string {
  const keepAlive = options.keepAlive ?? false;
  return `
upstream cgi_fpm {
    server unix:${options.fastcgiSocket};
${keepAlive ? '    keepalive 16;\n    keepalive_requests 100000;\n' : ''}}

server {
    listen unix:${options.httpSocket};
${options.tcpPort === undefined ? '' : `    listen 127.0.0.1:${options.tcpPort};\n`}    server_name localhost;
    root ${options.root};

    location / {
        fastcgi_split_path_info ^(.+?\\.(?:py|pl|cgi|sh|js))(/.*)$;
        include ${NGINX_FASTCGI_PARAMS};
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        fastcgi_pass cgi_fpm;
${keepAlive ? '        fastcgi_keep_conn on;\n' : ''}        fastcgi_read_timeout 60s;
    }
}
`;
}
