// This file implements the CGI environment checks from the perspective of FastCGI front ends
// other than nginx, on a raw connection: Apache mod_proxy_fcgi's `proxy:fcgi://host/` prefix on
// SCRIPT_FILENAME and its params split one pair per record, a front end that sends neither
// GATEWAY_INTERFACE nor SERVER_SOFTWARE, and an HTTP_PROXY param that must never reach a script.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxLikeParams } from './helpers/cgi-params.ts';
import { parseCgiResponse } from './helpers/cgi-response.ts';
import { fcgiRequest } from './helpers/fastcgi-client.ts';
import { useStack } from './helpers/use-stack.ts';

const stack = useStack();

interface Dump {
  env: Record<string, string>;
  cwd: string;
}

async function envDump(params: Record<string, string>, paramsPerRecord: boolean): Promise<Dump> {
  const res = await fcgiRequest({
    socketPath: stack().fastcgiSocket,
    params,
    paramsPerRecord,
  });
  expect(res.protocolStatus).toBe(0);
  const cgi = parseCgiResponse(res.stdout);
  expect(cgi.status).toBe(200);
  return JSON.parse(cgi.body.toString('utf8')) as Dump;
}

describe('the CGI environment from other FastCGI front ends', () => {
  it('Apache mod_proxy_fcgi: proxy:fcgi:// prefix stripped, params one pair per record', async () => {
    const { root } = stack();
    const params = nginxLikeParams(root, '/env-dump.py', {
      SCRIPT_FILENAME: `proxy:fcgi://localhost${root}/env-dump.py`,
      PATH_INFO: undefined,
      SERVER_SOFTWARE: 'Apache/2.4.62 (Debian)',
      QUERY_STRING: 'from=apache',
    });
    const dump = await envDump(params, true);
    expect(dump.env.SCRIPT_FILENAME).toBe(join(root, 'env-dump.py'));
    expect(dump.env.QUERY_STRING).toBe('from=apache');
    expect(dump.cwd).toBe(root);
  });

  it('adds GATEWAY_INTERFACE and SERVER_SOFTWARE when the front end sends neither', async () => {
    const { root } = stack();
    const params = nginxLikeParams(root, '/env-dump.py', {
      GATEWAY_INTERFACE: undefined,
      SERVER_SOFTWARE: undefined,
    });
    const dump = await envDump(params, false);
    expect(dump.env.GATEWAY_INTERFACE).toBe('CGI/1.1');
    expect(dump.env.SERVER_SOFTWARE).toMatch(/^cgi-fpm\/\d+\.\d+\.\d+/);
  });

  it('never passes HTTP_PROXY to a script (httpoxy), even when the front end sends it', async () => {
    const { root } = stack();
    const params = nginxLikeParams(root, '/env-dump.py', {
      HTTP_PROXY: 'http://attacker.example:3128',
      HTTP_X_OTHER: 'kept',
    });
    const dump = await envDump(params, false);
    expect(dump.env).not.toHaveProperty('HTTP_PROXY');
    expect(dump.env.HTTP_X_OTHER).toBe('kept');
  });
});
