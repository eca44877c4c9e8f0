// This file implements the tests of exec.ts from the perspective of a script checked once and run
// through that descriptor (issue 10: swap races), and of $0 when it is run by path.
import { closeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execRuntime } from './exec.ts';
import { openScript } from '../script-file.ts';
import { describe, expect, it } from 'vitest';
import { dir, request } from './exec-test-peer.ts';

describe('exec through the checked descriptor (issue 10: swap races)', () => {
  /** Runs `dollar0.sh` from `where` with the descriptor the worker would pass; resolves with its $0. */
  async function dollar0(where: string): Promise<string> {
    const path = join(where, 'dollar0.sh');
    const opened = openScript(Buffer.from(path), 'execute');
    if (!('fd' in opened)) throw new Error(opened.reason);
    try {
      const run = request('dollar0.sh');
      await execRuntime({ ...run.req, scriptFilename: path, cwd: where, scriptFd: opened.fd });
      return run.sink.text().trim();
    } finally {
      closeSync(opened.fd);
    }
  }

  it('runs /proc/self/fd/3 when a directory on the path is writable by others', async () => {
    const shared = join(dir, 'shared');
    await fsp.mkdir(shared);
    await fsp.chmod(shared, 0o777);
    await fsp.copyFile(join(dir, 'dollar0.sh'), join(shared, 'dollar0.sh'));
    await fsp.chmod(join(shared, 'dollar0.sh'), 0o755);
    expect(await dollar0(shared)).toBe('/proc/self/fd/3');
  });

  it.runIf(process.getuid?.() === 0 && tmpdir() === '/tmp')('runs the path when only root can change it ($0 is the real name)', async () => {
    expect(await dollar0(dir)).toBe(join(dir, 'dollar0.sh'));
  });
});
