// This file implements the tests of env-refs.ts from the perspective of an operator who writes
// `${NAME}` in string values: expanded from the environment, `$${` for a literal `${`, and an
// unset or malformed reference reported with the file, pool and key.

import { describe, expect, it } from 'vitest';
import { expandEnvReferences, expandReferences } from './env-refs.ts';

const env = { DB_URL: 'postgres://db/blog', RUN: '/run/cgi-fpm', EMPTY: '' };

describe('expandReferences', () => {
  it.each([
    ['${DB_URL}', 'postgres://db/blog'],
    ['${RUN}/blog.sock', '/run/cgi-fpm/blog.sock'],
    ['a${EMPTY}b', 'ab'],
    ['${RUN}${RUN}', '/run/cgi-fpm/run/cgi-fpm'],
    ['$${RUN}', '${RUN}'],
    ['cost: $5, $HOME, $', 'cost: $5, $HOME, $'],
    ['no references', 'no references'],
  ])('%j → %j', (text, expected) => {
    expect(expandReferences(text, env)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['${MISSING}', '${MISSING}: the environment variable MISSING is not set'],
    ['x${RUN', 'unterminated reference "${RUN"'],
    ['${}', '"${}" is not a reference to an environment variable'],
    ['${1A}', '"${1A}" is not a reference to an environment variable'],
    ['${A-B}', '"${A-B}" is not a reference'],
  ])('refuses %j', (text, reason) => {
    const result = expandReferences(text, env);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe('expandEnvReferences', () => {
  it('expands strings at any depth, leaves keys and other types alone', () => {
    const { document, problems } = expandEnvReferences(
      {
        global: { control_socket: '${RUN}/control.sock' },
        pools: {
          blog: { listen: '${RUN}/blog.sock', '${RUN}': 1, match: ['*.py', '${EMPTY}x'], clear_env: true, env: { DB: '${DB_URL}' } },
        },
      },
      env,
      '/etc/cgi-fpm/cgi-fpm.toml',
    );
    expect(problems).toEqual([]);
    expect(document).toEqual({
      global: { control_socket: '/run/cgi-fpm/control.sock' },
      pools: { blog: { listen: '/run/cgi-fpm/blog.sock', '${RUN}': 1, match: ['*.py', 'x'], clear_env: true, env: { DB: 'postgres://db/blog' } } },
    });
  });

  it('names the file, pool, key and variable of each unset reference', () => {
    const { problems } = expandEnvReferences(
      { global: { control_socket: '${NOPE}' }, pools: { blog: { env: { DB: '${DB_PASS}' }, match: ['${X}'] } } },
      env,
      '/etc/cgi-fpm/cgi-fpm.toml',
    );
    expect(problems.map((p) => [p.message, p.pool, p.key])).toEqual([
      [
        'config: /etc/cgi-fpm/cgi-fpm.toml: global.control_socket: ${NOPE}: the environment variable NOPE is not set (set it in the daemon\'s environment, e.g. systemd\'s Environment= or EnvironmentFile=)',
        undefined,
        'global.control_socket',
      ],
      [
        'config: /etc/cgi-fpm/cgi-fpm.toml: pool "blog": env.DB: ${DB_PASS}: the environment variable DB_PASS is not set (set it in the daemon\'s environment, e.g. systemd\'s Environment= or EnvironmentFile=)',
        'blog',
        'env.DB',
      ],
      [expect.stringContaining('pool "blog": match[0]: ${X}: the environment variable X is not set'), 'blog', 'match[0]'],
    ]);
  });

  it('keeps a pool named __proto__ a key', () => {
    const pools = JSON.parse('{"__proto__": {"listen": "${RUN}/p.sock"}}') as Record<string, unknown>;
    const { document } = expandEnvReferences({ pools }, env, '/f.toml');
    expect(Object.keys(document.pools as object)).toEqual(['__proto__']);
  });
});
