// This file implements the multi-host lab's configuration from the perspective of the issue 15
// test: each host's cgi-fpm config, the nginx site and the HAProxy config in the front
// namespace, and the script that names the host that answered.
import { CONTROL_GLOBAL } from './control.ts';
import type { Daemon } from './daemon.ts';
import type { HttpResponse } from './http.ts';
import type { LabHost } from './netns.ts';
import { NGINX_FASTCGI_PARAMS } from './paths.ts';
import { SCRIPT_PATH } from './stack.ts';

export const PORT = 9000;
/** A `listen.backlog` no default has, so the test can see it applied (`ss -ltn`, Send-Q). */
export const BACKLOG = 37;
/** What the balancers' health checks ask for: the pool's `ping.path`, 503 while the host drains. */
export const HEALTH_PATH = '/ping';
/** A node-runtime script that names its host (the pool's env) and can take its time (`?ms=N`). */
export const HOST_SCRIPT = `#!/usr/bin/env node
const ms = Number(new URLSearchParams(process.env.QUERY_STRING ?? '').get('ms') ?? 0);
setTimeout(() => {
  process.stdout.write('Content-Type: text/plain\\r\\n\\r\\n');
  process.stdout.write(\`host=\${process.env.HOST_TAG}\\n\`);
}, ms);
`;

/** One cgi-fpm host of the lab and its daemon while it runs. */
export interface Host {
  readonly lab: LabHost;
  daemon: Daemon | undefined;
}

/** Host a listens on IPv4 only; host b on a dual-stack `[::]` socket (IPv4 clients as `::ffff:…`). */
export function listenOf(lab: LabHost): string {
  return lab.name === 'a' ? `0.0.0.0:${String(PORT)}` : `[::]:${String(PORT)}`;
}

export function hostConfig(lab: LabHost, root: string): Record<string, unknown> {
  return {
    global: { log_level: 'info', process_control_timeout: '20s', ...CONTROL_GLOBAL },
    pools: {
      app: {
        listen: listenOf(lab),
        'listen.allowed_clients': [lab.frontAddress],
        'listen.backlog': BACKLOG,
        root,
        match: ['*.js'],
        runtime: 'node',
        pm: { max_children: 4 },
        'queue.max': 64,
        'ping.path': HEALTH_PATH,
        request_terminate_timeout: '30s',
        env: { PATH: SCRIPT_PATH, HOST_TAG: lab.name },
      },
    },
  };
}

export function nginxSite(hosts: readonly LabHost[], root: string, socket: string): string {
  const servers = hosts.map((h) => `    server ${h.address}:${String(PORT)} max_fails=1 fail_timeout=5s;`).join('\n');
  return `
upstream fpm {
${servers}
    keepalive 8;
}
server {
    listen unix:${socket};
    location / {
        include ${NGINX_FASTCGI_PARAMS};
        fastcgi_param SCRIPT_FILENAME ${root}/host.js;
        fastcgi_param SCRIPT_NAME /host.js;
        fastcgi_pass fpm;
        fastcgi_keep_conn on;
        fastcgi_connect_timeout 2s;
        fastcgi_next_upstream error timeout invalid_header http_503;
    }
}
`;
}

export function haproxyConfig(hosts: readonly LabHost[], root: string, socket: string): string {
  const servers = hosts
    .map((h) => `    server ${h.name} ${h.address}:${String(PORT)} proto fcgi check inter 300ms fall 2 rise 2`)
    .join('\n');
  return `
fcgi-app cgifpm
    docroot ${root}
    option mpxs-conns
    option max-reqs 32
    option keep-conn

backend fpm
    use-fcgi-app cgifpm
    balance roundrobin
    # Without it HAProxy gives each client session's first request a connection of its own,
    # so a multiplexed connection would only carry requests of one client connection.
    http-reuse always
    option httpchk
    # The check runs a script; on a loaded machine it may take longer than \`inter\` (the default
    # check timeout), and both servers would flap down together.
    timeout check 5s
    http-check send meth GET uri ${HEALTH_PATH}
    http-check expect status 200
    retry-on all-retryable-errors
    retries 3
    option redispatch
${servers}

frontend web
    bind unix@${socket}
    default_backend fpm
`;
}

export function tagOf(res: HttpResponse): string | undefined {
  return /^host=(\w+)$/m.exec(res.text)?.[1];
}
