// This file implements the tests of worker-command.ts from the perspective of the supervisor
// spawning a pool's worker: python pools and (by default) exec pools get the python worker run
// by `python.executable`; `exec.worker = "node"`, a python that is not found, and the other
// runtimes get the Node worker.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import type { PoolConfig } from '../../config/schema.ts';
import { executableBy, NODE_WORKER_FLAGS, PYTHON_WORKER_FLAGS, usesPythonWorker, workerCommand } from './worker-command.ts';

const MAIN = '/opt/cgi-fpm/dist/worker/main.js';
const PATH = '/usr/local/bin:/usr/bin:/bin';

function exec(worker: 'python' | 'node' | undefined, executable = '/usr/bin/python3'): PoolConfig {
  return testPoolConfig({ runtime: 'exec', exec: { killGroupAtEnd: true, worker }, python: { executable } });
}

describe('workerCommand', () => {
  it('runs worker.py with python.executable for an exec pool whose python is found', () => {
    const command = workerCommand(exec(undefined), MAIN, 4, PATH);
    expect(command.file).toBe('/usr/bin/python3');
    expect(command.args.slice(0, 4)).toEqual([...PYTHON_WORKER_FLAGS, '/opt/cgi-fpm/dist/worker/runtimes/python/worker.py']);
    expect(command.args[4]).toBe('4');
    expect(usesPythonWorker(exec(undefined, 'python3'), PATH)).toBe(true);
  });

  it('names a direct handler pool\'s listening socket (the fd after control) as the Node worker\'s second argument', () => {
    const direct = testPoolConfig({ runtime: 'handler', dispatch: 'direct' });
    expect(workerCommand(direct, MAIN, 3, PATH)).toEqual({ file: process.execPath, args: [...NODE_WORKER_FLAGS, MAIN, '3', '4'] });
    expect(workerCommand(testPoolConfig({ runtime: 'handler' }), MAIN, 4, PATH)).toEqual({ file: process.execPath, args: [...NODE_WORKER_FLAGS, MAIN, '4'] });
  });

  it('gives the Node worker flags this node accepts, the memory reducer off', () => {
    const run = spawnSync(process.execPath, [...NODE_WORKER_FLAGS, '-e', 'process.stdout.write(process.execArgv[0])'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('--no-memory-reducer');
  });

  it('keeps the Node worker with exec.worker = "node", or when python.executable is not found', () => {
    expect(workerCommand(exec('node'), MAIN, 4, PATH)).toEqual({ file: process.execPath, args: [...NODE_WORKER_FLAGS, MAIN, '4'] });
    expect(usesPythonWorker(exec(undefined, '/nonexistent/python3'), PATH)).toBe(false);
    expect(usesPythonWorker(exec(undefined, 'python9'), PATH)).toBe(false);
  });

  it('takes exec.worker = "python" at its word (a missing python is then the pool\'s start failure)', () => {
    expect(workerCommand(exec('python', '/nonexistent/python3'), MAIN, 4, PATH).file).toBe('/nonexistent/python3');
  });

  it('gives node and handler pools the Node worker, python pools the python worker', () => {
    expect(usesPythonWorker(testPoolConfig({ runtime: 'node' }), PATH)).toBe(false);
    expect(usesPythonWorker(testPoolConfig({ runtime: 'handler' }), PATH)).toBe(false);
    expect(usesPythonWorker(testPoolConfig({ runtime: 'python', python: { executable: '/nonexistent' } }), PATH)).toBe(true);
  });

  it("falls back to the Node worker when the pool's user may not reach python.executable", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgi-fpm-wc-'));
    try {
      const python = join(dir, 'python3');
      writeFileSync(python, '#!/bin/sh\n', { mode: 0o755 });
      const nobody = { uid: 65534, gid: 65534, name: 'nobody', groupName: 'nogroup', home: undefined };
      chmodSync(dir, 0o700);
      expect(executableBy(python, nobody)).toBe(false);
      expect(usesPythonWorker(testPoolConfig({ ...exec(undefined, python), user: nobody }), PATH)).toBe(false);
      expect(executableBy(python, undefined)).toBe(true);
      chmodSync(dir, 0o755);
      expect(executableBy(python, nobody)).toBe(true);
      chmodSync(python, 0o750);
      expect(executableBy(python, nobody)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
