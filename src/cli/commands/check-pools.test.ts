// This file implements the tests of check-pools.ts from the perspective of an operator running
// `cgi-fpm check`: a python.executable that is not there fails the check; a shadowed match and
// root = "/" are warned about; a sound config has neither.
import { describe, expect, it } from 'vitest';
import { testPoolConfig } from '../../config/pool-config-test-peer.ts';
import type { DaemonConfig, PoolConfig } from '../../config/schema.ts';
import { checkPools, findExecutable } from './check-pools.ts';

const GLOBAL = { logLevel: 'info', controlSocket: undefined, processControlTimeoutMs: 10_000, clientHeaderTimeoutMs: 60_000, keepaliveTimeoutMs: 75_000 } as const;

function config(...pools: PoolConfig[]): DaemonConfig {
  return { file: '/etc/cgi-fpm.toml', global: GLOBAL, pools };
}

const python = (executable: string): PoolConfig => testPoolConfig({ name: 'py', runtime: 'python', python: { executable } });

describe('checkPools', () => {
  it('fails on a python.executable not found (path or PATH), passes python3 from PATH', () => {
    expect(checkPools(config(python('/nonexistent')), '/usr/bin:/bin').problems).toEqual([
      'config: /etc/cgi-fpm.toml: pool "py": python.executable: "/nonexistent" is not an executable file',
    ]);
    expect(checkPools(config(python('python9')), '/usr/bin').problems).toEqual([
      'config: /etc/cgi-fpm.toml: pool "py": python.executable: "python9" is not found in PATH (/usr/bin)',
    ]);
    expect(findExecutable('python3', '/usr/local/bin:/usr/bin:/bin')).toMatch(/python3$/);
    expect(checkPools(config(python('python3')), '/usr/local/bin:/usr/bin:/bin')).toEqual({ problems: [], warnings: [] });
  });

  it('fails on a missing python.executable for exec.worker = "python", not for an exec pool that may fall back', () => {
    const exec = (worker: 'python' | undefined): PoolConfig => testPoolConfig({
      name: 'ex', runtime: 'exec', exec: { killGroupAtEnd: true, worker }, python: { executable: '/nonexistent' },
    });
    expect(checkPools(config(exec('python')), '/usr/bin').problems).toEqual([
      'config: /etc/cgi-fpm.toml: pool "ex": python.executable: "/nonexistent" is not an executable file',
    ]);
    expect(checkPools(config(exec(undefined)), '/usr/bin').problems).toEqual([]);
  });

  it('warns when an earlier pool on the same socket takes every request of a later one', () => {
    const wide = testPoolConfig({ name: 'all', root: '/srv', match: ['**'] });
    const narrow = testPoolConfig({ name: 'blog', root: '/srv/blog', match: ['*.py'] });
    const { warnings } = checkPools(config(wide, narrow), undefined);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('pool "blog": match ["*.py"] is shadowed by pool "all"');
    // Narrow first, or on another socket, or beside it: no warning.
    expect(checkPools(config(narrow, wide), undefined).warnings).toEqual([]);
    const elsewhere = testPoolConfig({ ...narrow, listen: { ...narrow.listen, address: { kind: 'unix', path: '/run/other.sock' } } });
    expect(checkPools(config(wide, elsewhere), undefined).warnings).toEqual([]);
    const beside = testPoolConfig({ name: 'cgi', root: '/srv2', match: ['*.cgi'] });
    expect(checkPools(config(wide, beside), undefined).warnings).toEqual([]);
    // The same globs on the same root: the second never gets a request.
    const twin = testPoolConfig({ name: 'twin', root: '/srv', match: ['*.sh'] });
    const first = testPoolConfig({ name: 'first', root: '/srv', match: ['*.sh', '*.cgi'] });
    expect(checkPools(config(first, twin), undefined).warnings[0]).toContain('pool "twin"');
  });

  it('warns on root = "/"', () => {
    expect(checkPools(config(testPoolConfig({ root: '/' })), undefined).warnings).toEqual([
      'config: /etc/cgi-fpm.toml: pool "test": root = "/": every file on the host is in this pool\'s reach; give it the scripts\' directory',
    ]);
  });
});
