import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('.', import.meta.url));

// The python worker's pure parts (FastCGI records and pairs, the responder role, the CGI head,
// the environment, the #! line, the runner frames) are tested in python: worker_test.py, worker_checks_test.py, direct_test.py (the direct accept loop), direct_board_test.py (its scoreboard and client filter) and direct_hold_test.py (its held output).
describe("the python worker's modules", () => {
  it('pass their own unit tests (worker_test.py)', { timeout: 120_000 }, () => {
    const run = spawnSync('python3', ['-B', '-m', 'unittest', '-v', 'worker_test', 'worker_checks_test', 'direct_test', 'direct_board_test', 'direct_hold_test'], { cwd: DIR, encoding: 'utf8' });
    // unittest reports on stderr: every test "ok", and "OK" at the end.
    expect(run.stderr).toMatch(/\nOK\n$/u);
    expect(run.stderr).not.toMatch(/\.\.\. (FAIL|ERROR)/u);
    expect(run.status).toBe(0);
  });
});
