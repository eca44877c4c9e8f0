import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('.', import.meta.url));

// The exec pool's python worker (_cgi_fpm_exec*.py): the script check, posix_spawn with the
// request's bytes, and one request end to end in the worker's loop, tested in python:
// exec_worker_test.py, exec_end_test.py and exec_group_test.py.
describe("the exec pool's python worker", () => {
  it('passes its own unit tests (exec_worker_test.py, exec_end_test.py, exec_group_test.py)', () => {
    const run = spawnSync('python3', ['-B', '-m', 'unittest', '-v', 'exec_worker_test', 'exec_end_test', 'exec_group_test'], { cwd: DIR, encoding: 'utf8' });
    // unittest reports on stderr: every test "ok", and "OK" at the end.
    expect(run.stderr).toMatch(/\nOK\n$/u);
    expect(run.stderr).not.toMatch(/\.\.\. (FAIL|ERROR)/u);
    expect(run.status).toBe(0);
  });
});
