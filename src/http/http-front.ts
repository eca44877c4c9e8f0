// This file implements the embedded HTTP front (`cgi-fpm start --http HOST:PORT`) from the
// perspective of a developer without nginx: each HTTP request is mapped to a script as nginx's
// `fastcgi_split_path_info` would, turned into a FastCGI request to the daemon's own listener,
// and the CGI response is turned back into HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { PoolConfig } from '../config/schema.ts';
import { CgiHeadParser } from '../cgi/response.ts';
import type { Logger } from '../log/logger.ts';
import { fcgiRequest } from './fcgi-client.ts';
import { frontParams, locateScript, parseHostPort } from './front-params.ts';

/**
 * Starts the HTTP front on `hostPort` (`127.0.0.1:8080`, `[::1]:8080`).
 * @throws Error naming the address when it cannot listen, or a pool on a socket systemd
 *   passed (`systemd:NAME`: the front has no path or port to connect to).
 */
export async function startHttpFront(hostPort: string, pools: readonly PoolConfig[], log: Logger): Promise<Server> {
  const { host, port } = parseHostPort(hostPort);
  const passed = pools.find((p) => p.listen.address.kind === 'systemd');
  if (passed !== undefined) {
    throw new Error(`http: --http cannot reach pool ${JSON.stringify(passed.name)}: it listens on a socket systemd passed`);
  }
  const server = createServer((req, res) => {
    serve(req, res, pools, log).catch((err: unknown) => {
      log.error({ err: (err as Error).message, url: req.url }, 'http front error');
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(new Error(`http: listen ${hostPort}: ${err.message}`, { cause: err })); });
    server.listen(port, host, () => { resolve(); });
  });
  log.info({ http: hostPort }, 'http front listening');
  return server;
}

async function serve(req: IncomingMessage, res: ServerResponse, pools: readonly PoolConfig[], log: Logger): Promise<void> {
  let located;
  try {
    located = await locateScript(req.url ?? '/', pools);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('400 Bad Request\n');
    return;
  }
  const head = new CgiHeadParser();
  let started = false;
  const socket = fcgiRequest(located.pool.listen.address, frontParams(req, located), req, {
    stdout: (chunk, resume) => {
      if (started) return writeBody(res, chunk, resume);
      const parsed = head.push(chunk);
      if (parsed === undefined) return true;
      started = true;
      const fields = parsed.headers.flat();
      res.writeHead(parsed.status, parsed.reason, fields);
      return head.rest.length === 0 || writeBody(res, head.rest, resume);
    },
    stderr: (chunk) => { log.warn({ line: chunk.toString('utf8').trimEnd() }, 'cgi stderr'); },
    end: (complete) => {
      if (!started) res.writeHead(502, { 'content-type': 'text/plain' }).end('502 Bad Gateway\n');
      else if (complete) res.end();
      else res.destroy();
    },
  });
  res.on('close', () => { if (!res.writableFinished) socket.destroy(); });
}

function writeBody(res: ServerResponse, chunk: Buffer, resume: () => void): boolean {
  if (res.write(chunk)) return true;
  res.once('drain', resume);
  return false;
}
