// This file implements the embedded HTTP front's mapping from an HTTP request to FastCGI
// params, from the perspective of a script that expects what nginx's `fastcgi_params` and
// `fastcgi_split_path_info` give it (RFC 3875 §4.1 meta-variables).
import { stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { PoolConfig } from '../config/schema.ts';

/** The script a URL names: its pool, SCRIPT_NAME and the PATH_INFO after it. */
export interface LocatedScript {
  readonly pool: PoolConfig;
  readonly scriptName: string;
  readonly pathInfo: string;
  readonly queryString: string;
}

/** Splits `HOST:PORT` / `[v6]:PORT`. @throws TypeError for anything else. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new TypeError(`http: --http must be HOST:PORT, got "${text}"`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * Finds the longest leading path of the URL that is a regular file under a pool's root, as
 * `fastcgi_split_path_info` does; falls back to the whole path in the first pool (the daemon
 * then answers 404 itself). Containment is checked by the daemon, not here.
 * @throws URIError for a malformed percent-encoding.
 */
export async function locateScript(url: string, pools: readonly PoolConfig[]): Promise<LocatedScript> {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const queryString = q < 0 ? '' : url.slice(q + 1);
  const path = decodeURIComponent(rawPath);
  const parts = path.split('/');
  for (const pool of pools) {
    for (let n = 2; n <= parts.length; n++) {
      const scriptName = parts.slice(0, n).join('/');
      if (await isFile(join(pool.root, scriptName))) {
        return { pool, scriptName, pathInfo: parts.slice(n).length > 0 ? `/${parts.slice(n).join('/')}` : '', queryString };
      }
    }
  }
  const first = pools[0];
  if (first === undefined) throw new TypeError('http: no pools');
  return { pool: first, scriptName: path, pathInfo: '', queryString };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The FastCGI params nginx would send for `req` (its stock `fastcgi_params` plus the split). */
export function frontParams(req: IncomingMessage, script: LocatedScript): [string, string][] {
  const socket = req.socket;
  const params: [string, string][] = [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['REQUEST_METHOD', req.method ?? 'GET'],
    ['QUERY_STRING', script.queryString],
    ['CONTENT_TYPE', req.headers['content-type'] ?? ''],
    ['CONTENT_LENGTH', req.headers['content-length'] ?? ''],
    ['SCRIPT_NAME', script.scriptName],
    ['SCRIPT_FILENAME', join(script.pool.root, script.scriptName)],
    ['PATH_INFO', script.pathInfo],
    ['REQUEST_URI', req.url ?? '/'],
    ['DOCUMENT_URI', script.scriptName + script.pathInfo],
    ['DOCUMENT_ROOT', script.pool.root],
    ['SERVER_PROTOCOL', `HTTP/${req.httpVersion}`],
    ['REQUEST_SCHEME', 'http'],
    ['REMOTE_ADDR', socket.remoteAddress ?? ''],
    ['REMOTE_PORT', String(socket.remotePort ?? '')],
    ['SERVER_ADDR', socket.localAddress ?? ''],
    ['SERVER_PORT', String(socket.localPort ?? '')],
    ['SERVER_NAME', (req.headers.host ?? '').replace(/:\d+$/, '')],
  ];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toUpperCase().replace(/-/g, '_');
    if (name === 'CONTENT_TYPE' || name === 'CONTENT_LENGTH' || name === 'PROXY') continue;
    params.push([`HTTP_${name}`, req.rawHeaders[i + 1] ?? '']);
  }
  return params;
}
