// This file implements the bench's scratch directory from the perspective of the targets: the
// same hello page as CGI scripts (Python, Node, sh), a node-http handler, a PHP page and WSGI
// applications (native, and the in-process CGI adapter), plus the paths of every socket,
// written into a fresh temporary directory.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempDir, type TempDir } from '../test/integration/helpers/temp-dir.ts';
import type { Interpreters } from './interpreters.ts';
import type { WsgiApp } from './targets.ts';

/** The body every target answers with. */
export const HELLO_BODY = 'Hello, world!';

/** The adapter that runs hello.py in-process under mod_wsgi (the bench runs from dist-bench/bench/). */
const WSGI_CGI_ADAPTER = fileURLToPath(new URL('../../bench/peers/wsgi-cgi-adapter.py', import.meta.url));

/** Paths inside the scratch directory. */
export interface Workspace {
  /** The temporary directory itself; `remove()` deletes it. */
  readonly dir: TempDir;
  /** Root of the CGI pools, fcgiwrap and PHP-FPM: hello.py, hello.js, hello.sh (0755), hello.php. */
  readonly cgiBin: string;
  /** Root of the handler pool: an empty directory, every path in it goes to the handler. */
  readonly appRoot: string;
  /** The handler module (ESM, default export `(req, res)`). */
  readonly handlerModule: string;
  /** The WSGI script file of each mod_wsgi application. */
  readonly wsgiScript: Readonly<Record<WsgiApp, string>>;
  /** A private directory (config, logs, pid file) for the server named `name`. */
  serverDir(name: string): string;
  /** The FastCGI unix socket of the pool or server named `name`. */
  socket(name: string): string;
}

/** A classic CGI script: headers, blank line, body, run by the real python3. */
function helloPy(python: string): string {
  return `#!${python}
print("Content-Type: text/plain")
print()
print("${HELLO_BODY}", end="")
`;
}

/** The same script for Node (CommonJS, as a CGI program writes it). */
function helloJs(node: string): string {
  return `#!${node}
process.stdout.write('Content-Type: text/plain\\n\\n${HELLO_BODY}');
`;
}

/** The same script for the shell: one printf, a builtin of dash. */
function helloSh(): string {
  return `#!/bin/sh
printf 'Content-Type: text/plain\\n\\n${HELLO_BODY}'
`;
}

/** The same page for PHP-FPM. */
function helloPhp(): string {
  return `<?php
header('Content-Type: text/plain');
echo '${HELLO_BODY}';
`;
}

/** The same page as a node-http handler, loaded once per worker. */
function helloHandler(): string {
  return `export default (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('${HELLO_BODY}');
};
`;
}

/** The same page as a native WSGI application (PEP 3333). */
function helloWsgi(): string {
  return `BODY = b"${HELLO_BODY}"


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
`;
}

async function writeScript(file: string, text: string, mode: number): Promise<void> {
  await writeFile(file, text);
  await chmod(file, mode);
}

/**
 * Creates the scratch directory (short, under the system temp dir, so socket paths fit; 0755,
 * so Apache's www-data children can read the WSGI files) and writes every page.
 */
export async function createWorkspace(interpreters: Interpreters): Promise<Workspace> {
  const dir = await createTempDir('cgi-fpm-bench-');
  const cgiBin = join(dir.path, 'cgi-bin');
  const appRoot = join(dir.path, 'app');
  const wsgiDir = join(dir.path, 'wsgi');
  const handlerModule = join(dir.path, 'hello-handler.mjs');
  for (const sub of [cgiBin, appRoot, wsgiDir]) await mkdir(sub, { mode: 0o755 });
  await writeScript(join(cgiBin, 'hello.py'), helloPy(interpreters.python), 0o755);
  await writeScript(join(cgiBin, 'hello.js'), helloJs(interpreters.node), 0o755);
  await writeScript(join(cgiBin, 'hello.sh'), helloSh(), 0o755);
  await writeScript(join(cgiBin, 'hello.php'), helloPhp(), 0o644);
  await writeFile(handlerModule, helloHandler());
  const wsgiScript = { native: join(wsgiDir, 'hello.wsgi'), cgi: join(wsgiDir, 'hello-cgi.wsgi') };
  await writeScript(wsgiScript.native, helloWsgi(), 0o644);
  const adapter = await readFile(WSGI_CGI_ADAPTER, 'utf8');
  await writeScript(
    wsgiScript.cgi,
    `SCRIPT = ${JSON.stringify(join(cgiBin, 'hello.py'))}\n${adapter}`,
    0o644,
  );
  return {
    dir,
    cgiBin,
    appRoot,
    handlerModule,
    wsgiScript,
    serverDir: (name) => join(dir.path, name),
    socket: (name) => join(dir.path, `${name}.sock`),
  };
}
