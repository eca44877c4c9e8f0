// This file implements the bench's scratch directory from the perspective of the targets: the
// same hello page as a Python CGI script, a Node CGI script and a node-http handler module,
// plus the paths of every socket, written into a fresh temporary directory.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTempDir, type TempDir } from '../test/integration/helpers/temp-dir.ts';
import type { Interpreters } from './interpreters.ts';

/** The body every target answers with. */
export const HELLO_BODY = 'Hello, world!';

/** Paths inside the scratch directory. */
export interface Workspace {
  /** The temporary directory itself; `remove()` deletes it. */
  readonly dir: TempDir;
  /** Root of the CGI pools and of fcgiwrap: holds hello.py and hello.js (mode 0755). */
  readonly cgiBin: string;
  /** Root of the handler pool: an empty directory, every path in it goes to the handler. */
  readonly appRoot: string;
  /** The handler module (ESM, default export `(req, res)`). */
  readonly handlerModule: string;
  /** Where nginx keeps its conf, logs and temp files. */
  readonly nginxDir: string;
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

/** The same page as a node-http handler, loaded once per worker. */
function helloHandler(): string {
  return `export default (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('${HELLO_BODY}');
};
`;
}

/**
 * Creates the scratch directory (short, under the system temp dir, so socket paths fit) and
 * writes the scripts and the handler module.
 */
export async function createWorkspace(interpreters: Interpreters): Promise<Workspace> {
  const dir = await createTempDir('cgi-fpm-bench-');
  const cgiBin = join(dir.path, 'cgi-bin');
  const appRoot = join(dir.path, 'app');
  const nginxDir = join(dir.path, 'nginx');
  const handlerModule = join(dir.path, 'hello-handler.mjs');
  await mkdir(cgiBin, { mode: 0o755 });
  await mkdir(appRoot, { mode: 0o755 });
  await writeFile(join(cgiBin, 'hello.py'), helloPy(interpreters.python));
  await writeFile(join(cgiBin, 'hello.js'), helloJs(interpreters.node));
  await chmod(join(cgiBin, 'hello.py'), 0o755);
  await chmod(join(cgiBin, 'hello.js'), 0o755);
  await writeFile(handlerModule, helloHandler());
  return { dir, cgiBin, appRoot, handlerModule, nginxDir, socket: (name) => join(dir.path, `${name}.sock`) };
}
