import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('.', import.meta.url));

// Every name the runner's functions load as a global must be the module's own: a builtin
// looked up at call time would be whatever a script bound on `builtins` (a patched len or
// memoryview would break the frames of the script's own response, issue 11).
const CHECK = `
import builtins, dis, sys, types
sys.path.insert(0, sys.argv[1])
sys.dont_write_bytecode = True
def codes(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from codes(const)
found = []
for name in sys.argv[2:]:
    module = __import__(name)
    top = compile(open(module.__file__).read(), module.__file__, "exec")
    for code in codes(top):
        if code is top:
            continue
        for ins in dis.get_instructions(code):
            if ins.opname == "LOAD_GLOBAL" and ins.argval not in vars(module) and hasattr(builtins, ins.argval):
                found.append("%s.%s: %s" % (name, code.co_name, ins.argval))
print("\\n".join(sorted(set(found))))
`;

const MODULES = [
  '_cgi_fpm_bindings',
  '_cgi_fpm_channel',
  '_cgi_fpm_child',
  '_cgi_fpm_fork',
  '_cgi_fpm_leftovers',
  '_cgi_fpm_noted',
  '_cgi_fpm_persistent',
  '_cgi_fpm_relay',
  '_cgi_fpm_script',
  '_cgi_fpm_state',
  '_cgi_fpm_stdio',
  '_cgi_fpm_watch',
];

describe("the runner's modules", () => {
  it('bind every builtin their functions use at import, so no script can replace one under them', () => {
    const out = execFileSync('python3', ['-c', CHECK, DIR, ...MODULES], { encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });

  it('keep their per-request shortcuts as strict as the full checks (runner_test.py)', () => {
    const run = spawnSync('python3', ['-B', '-m', 'unittest', '-v', 'runner_test'], { cwd: DIR, encoding: 'utf8' });
    // unittest reports on stderr: every test "ok", and "OK" at the end.
    expect(run.stderr).toMatch(/\nOK\n$/u);
    expect(run.stderr).not.toMatch(/\.\.\. (FAIL|ERROR)/u);
    expect(run.status).toBe(0);
  });
});
