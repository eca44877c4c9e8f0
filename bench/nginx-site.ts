// This file implements the bench's nginx site from the perspective of wrk: one server per
// target on its own 127.0.0.1 port, each passing every request to that target's FastCGI
// socket as a production site would (config/nginx.conf), with the access log off.
import { NGINX_FASTCGI_PARAMS } from '../test/integration/helpers/paths.ts';
import type { Target } from './targets.ts';

/** Where nginx sends one target's requests. */
export interface SiteTarget {
  readonly target: Target;
  /** The loopback port nginx listens on for this target. */
  readonly port: number;
  /** Document root: the pool's (or fcgiwrap's) root, so SCRIPT_FILENAME falls inside it. */
  readonly root: string;
  /** The FastCGI unix socket. */
  readonly socket: string;
}

function upstreamName(target: Target): string {
  return `bench_${target.id.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/**
 * cgi-fpm gets kept-alive connections (its supervisor owns them; the recommended setup).
 * fcgiwrap and PHP-FPM do not: each of their children serves one connection at a time, so a
 * kept-alive connection would hold a child while requests on the other connections wait
 * (Debian's `snippets/fastcgi-php.conf` does not keep them either). A target may say otherwise
 * (`Target.keepAlive`: the direct-accept rows).
 */
function server(site: SiteTarget): string {
  const keepAlive = site.target.keepAlive ?? site.target.backend === 'cgi-fpm';
  const upstream = upstreamName(site.target);
  return `
upstream ${upstream} {
    server unix:${site.socket};
${keepAlive ? '    keepalive 16;\n    keepalive_requests 100000;\n' : ''}}

server {
    listen 127.0.0.1:${site.port};
    server_name localhost;
    root ${site.root};
    access_log off;

    location / {
        include ${NGINX_FASTCGI_PARAMS};
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass ${upstream};
${keepAlive ? '        fastcgi_keep_conn on;\n' : ''}        fastcgi_read_timeout 60s;
    }
}
`;
}

/**
 * The `http {}` content: every target's server, and a server on `readySocket` (answers 204)
 * that tells the nginx helper when nginx is up.
 */
export function benchSite(sites: readonly SiteTarget[], readySocket: string): string {
  return `
server {
    listen unix:${readySocket};
    access_log off;
    return 204;
}
${sites.map(server).join('')}`;
}
