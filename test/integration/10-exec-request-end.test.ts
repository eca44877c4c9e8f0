// This file implements two of issue 10's smaller items from the perspective of a script: the
// daemon is started with two descriptors left open by its launcher (fds 40 and 41, as a careless
// shell or service wrapper leaves them), and no script — an exec script, a python script, a node
// script, or a process any of them starts — may see them; and a background child an exec
// script leaves in its process group dies when the request ends, unless the pool keeps the old
// behaviour (`exec.kill_group_at_end = false`).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { isProcessAlive, killQuietly, waitForProcessesGone } from './helpers/processes.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { EVENT_TIMEOUT_MS } from './helpers/wait.ts';

/** Python that prints this process's open descriptors as a JSON list (the listing's own one left out). */
const LIST_FDS = `import os, json
def live(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
print(json.dumps([fd for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")) if live(fd)]))`;

const SCRIPTS: Readonly<Record<string, string>> = {
  // exec: the script's own descriptors.
  'fds-exec.py': `#!/usr/bin/python3\nimport sys\nsys.stdout.write("Content-Type: application/json\\r\\n\\r\\n")\nsys.stdout.flush()\n${LIST_FDS}\n`,
  // python: the runner's descriptors, and those of a child started without close_fds.
  'fds-python.py': `#!/usr/bin/python3\nimport subprocess, json, os\nchild = subprocess.run(["python3", "-c", ${JSON.stringify(LIST_FDS)}], capture_output=True, close_fds=False, text=True).stdout\nprint("Content-Type: application/json")\nprint()\nprint(json.dumps({"self": sorted(int(n) for n in os.listdir("/proc/self/fd")), "child": json.loads(child)}))\n`,
  // node: the worker's descriptors, and those of a child it spawns.
  'fds-node.js': `const { execFileSync } = require('child_process');\nconst fs = require('fs');\nconst child = JSON.parse(execFileSync('python3', ['-c', ${JSON.stringify(LIST_FDS)}], { stdio: ['ignore', 'pipe', 'inherit'] }).toString());\nprocess.stdout.write('Content-Type: application/json\\r\\n\\r\\n' + JSON.stringify({ self: fs.readdirSync('/proc/self/fd').map(Number), child }));\n`,
  // exec: a background child left in the script's group, its stdio detached so the request ends.
  'background.sh': `#!/bin/sh\nsleep 300 </dev/null >/dev/null 2>&1 &\necho $! > "$(dirname "$SCRIPT_FILENAME")/$QUERY_STRING.pid"\nprintf 'Content-Type: text/plain\\r\\n\\r\\nstarted\\n'\n`,
};

const LEAKED = [40, 41];

describe('10: what an exec request leaves, and what scripts inherit', () => {
  let dir: TempDir;
  let daemon: Daemon;
  const left: number[] = [];
  beforeAll(async () => {
    dir = await createTempDir();
    for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(dir.path, name), text, { mode: 0o755 });
    const pool = (name: string, runtime: string, match: string, extra = '') => `[pools.${name}]
listen = "${join(dir.path, `${name}.sock`)}"
root = "${dir.path}"
match = ["${match}"]
runtime = "${runtime}"
"pm.max_children" = 1
${extra}`;
    const config = [
      pool('exec', 'exec', '*'),
      pool('keep', 'exec', '*', '"exec.kill_group_at_end" = false\n'),
      pool('python', 'python', '*.py'),
      pool('node', 'node', '*.js'),
    ].join('\n');
    // The launcher leaves fds 40 and 41 open, without close-on-exec, to the daemon.
    daemon = await startDaemon({
      dir: dir.path, config, launcher: ['/bin/bash', '-c', 'exec 40</dev/null 41</dev/null; exec "$@"', 'launcher'],
    });
  });
  afterAll(async () => {
    for (const pid of left) killQuietly(pid, 'SIGKILL');
    await daemon.stop();
    await dir.remove();
  });

  async function get(pool: string, name: string, query = ''): Promise<string> {
    const res = await fcgiRequest({
      socketPath: join(dir.path, `${pool}.sock`), params: nginxLikeParams(dir.path, `/${name}`, { QUERY_STRING: query }),
    });
    const text = res.stdout.toString('utf8');
    return text.slice(text.indexOf('\r\n\r\n') + 4);
  }

  it('the daemon did inherit the leaked descriptors (the test means something)', async () => {
    const fds = (await readFile(`/proc/${String(daemon.pid)}/fdinfo/40`, 'utf8').catch(() => ''));
    expect(fds).toMatch(/^flags:/m);
  });

  it('an exec script has only 0, 1 and 2', async () => {
    expect(JSON.parse(await get('exec', 'fds-exec.py'))).toEqual([0, 1, 2]);
  });

  it("a python script's runner has no leaked descriptor, and its child only 0, 1 and 2", async () => {
    const seen = JSON.parse(await get('python', 'fds-python.py')) as { self: number[]; child: number[] };
    expect(seen.child).toEqual([0, 1, 2]);
    for (const fd of LEAKED) expect(seen.self).not.toContain(fd);
  });

  it("a node script's worker has no leaked descriptor, and its child only 0, 1 and 2", async () => {
    const seen = JSON.parse(await get('node', 'fds-node.js')) as { self: number[]; child: number[] };
    expect(seen.child).toEqual([0, 1, 2]);
    for (const fd of LEAKED) expect(seen.self).not.toContain(fd);
  });

  it("kills an exec script's background child when the request ends", async () => {
    expect(await get('exec', 'background.sh', 'killed')).toBe('started\n');
    const pid = Number(await readFile(join(dir.path, 'killed.pid'), 'utf8'));
    left.push(pid);
    await waitForProcessesGone([pid], pid, EVENT_TIMEOUT_MS);
  });

  it('keeps it running under exec.kill_group_at_end = false, as before', async () => {
    expect(await get('keep', 'background.sh', 'kept')).toBe('started\n');
    const pid = Number(await readFile(join(dir.path, 'kept.pid'), 'utf8'));
    left.push(pid);
    // The same request on the killing pool was answered after its child was killed; this one's
    // child must still be there after a later request on the same worker.
    await get('keep', 'fds-exec.py');
    expect(isProcessAlive(pid)).toBe(true);
  });
});
