// This file implements the tests of python-stack.ts from the perspective of an operator reading
// a python pool's slow log: faulthandler's dump turned into PHP-FPM-like frame lines, innermost
// first, the runner's own frames cut; a process without the dump file is never signalled.
import { describe, expect, it } from 'vitest';
import { catches, parseFaulthandler, samplePythonStack } from './python-stack.ts';

const DUMP = [
  'Current thread 0x00007f0d5a1b7740 (most recent call first):',
  '  File "/srv/www/burn.py", line 6 in burn_cpu',
  '  File "/srv/www/burn.py", line 9 in <module>',
  '  File "/usr/lib/cgi-fpm/python/_cgi_fpm_script.py", line 120 in run',
  '  File "/usr/lib/cgi-fpm/python/runner.py", line 140 in main',
  '',
].join('\n');

describe('parseFaulthandler', () => {
  it("keeps the script's frames, innermost first, as name() file:line", () => {
    expect(parseFaulthandler(DUMP)).toEqual(['burn_cpu() /srv/www/burn.py:6', '<module>() /srv/www/burn.py:9']);
  });

  it('gives nothing for a dump of the runner alone or for other text', () => {
    expect(parseFaulthandler('  File "/x/_cgi_fpm_loop.py", line 3 in poll\n')).toEqual([]);
    expect(parseFaulthandler('garbage')).toEqual([]);
  });
});

describe('samplePythonStack', () => {
  it('does not signal a process that has no dump file (the signal would kill it)', async () => {
    const kills: number[] = [];
    const sample = await samplePythonStack(process.pid, (pid) => { kills.push(pid); });
    expect(kills).toEqual([]);
    expect(sample).toMatchObject({ noStack: expect.stringContaining('no stack dump file') as unknown });
  });
});

describe('catches', () => {
  it("reads the signal's bit in SigCgt", () => {
    // Bits 2 (SIGINT), 17 (SIGCHLD) and 39 (SIGRTMIN+5).
    const status = 'Name:\tpython3\nSigIgn:\t0000000001001000\nSigCgt:\t0000004000010002\n';
    expect([catches(status, 2), catches(status, 17), catches(status, 39)]).toEqual([true, true, true]);
    expect([catches(status, 15), catches(status, 40), catches('', 39)]).toEqual([false, false, false]);
  });
});
