// This file implements issue 11's "the script's interpreter" for `runtime = "node"` from the
// perspective of a client behind nginx and an admin reading the log: a script whose shebang
// names the worker's node (directly, or through `env` on the pool's PATH) runs; one that names
// another node binary, node with options, or another interpreter gets a 500 and a log line naming
// that interpreter and the worker's node — under CGI the shebang decides, and an in-process
// worker cannot honour another one.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitForEvent, waitForRequestLog } from './helpers/logs.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const BODY = String.raw`process.stdout.write('Content-Type: text/plain\r\n\r\nran');`;

let otherNode = '';

const stack = useStack({
  pools: async ({ root, dir, fastcgiSocket }) => {
    otherNode = join(dir, 'other-node', 'bin', 'node');
    await mkdir(join(dir, 'other-node', 'bin'), { recursive: true });
    await writeFile(otherNode, '#!/bin/sh\nexec node "$@"\n', { mode: 0o755 });
    const poolRoot = join(root, 'node');
    await mkdir(poolRoot, { recursive: true });
    const scripts: Record<string, string> = {
      'env-node.js': `#!/usr/bin/env node\n${BODY}`,
      'exec-path.js': `#!${process.execPath}\n${BODY}`,
      'no-shebang.js': BODY,
      'other-node.js': `#!${otherNode}\n${BODY}`,
      'options.js': `#!/usr/bin/env -S node --max-old-space-size=64\n${BODY}`,
      'shell.js': `#!/bin/sh\necho "Content-Type: text/plain"; echo; echo shell\n`,
    };
    for (const [name, text] of Object.entries(scripts)) await writeFile(join(poolRoot, name), text, { mode: 0o755 });
    return { node: { ...defaultPool(poolRoot, fastcgiSocket), runtime: 'node', match: ['*.js'], pm: { max_children: 1 } } };
  },
});

describe("node runtime behind nginx: the script's interpreter", () => {
  it.each(['env-node.js', 'exec-path.js', 'no-shebang.js'])("%s names this worker's node (or none) and runs", async (script) => {
    const res = await stack().request(`/node/${script}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('ran');
  });

  it.each([
    ['other-node.js', () => `interpreter ${otherNode} is not this worker's node (${process.execPath})`],
    ['options.js', () => 'node options "--max-old-space-size=64" cannot be applied in a running worker'],
    ['shell.js', () => `interpreter /bin/sh is not this worker's node (${process.execPath})`],
  ])('%s is refused with a 500 and a log line naming the interpreter', async (script, reason) => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const res = await stack().request(`/node/${script}`);
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('ran');
    const refused = await waitForEvent(daemon, 'script interpreter refused', since);
    expect(refused).toMatchObject({ pool: 'node', reason: reason(), node: process.execPath });
    expect(String(refused.script)).toMatch(new RegExp(`${script.replace('.', '\\.')}$`));
    expect(await waitForRequestLog(daemon, script, since)).toMatchObject({ status: 500 });
  });
});
