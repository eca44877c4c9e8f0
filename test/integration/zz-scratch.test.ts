import { it } from 'vitest';
import { useStack } from './helpers/use-stack.ts';
import { childPids } from './helpers/processes.ts';
const stack = useStack({ keepAlive: true });
it('scratch', async () => {
  const s = stack();
  for (const p of ['/crash.sh', '/ignore-body.sh', '/get-echo.py', '/marker.sh%0a', '/readme.txt', '/stderr.sh']) {
    const r = await s.request(p, p === '/ignore-body.sh' ? { method: 'POST', body: Buffer.alloc(3_000_000) } : {});
    console.log(p, r.status, JSON.stringify(r.text.slice(0, 80)));
  }
  const workers = childPids(s.daemon.pid);
  console.log('workers', workers);
  const code = await s.daemon.stop();
  console.log('exit', code);
  console.log(s.daemon.logs.filter((e) => e.msg !== 'request').map((e) => JSON.stringify(e)).join('\n'));
  console.log((await s.nginx.errorLog()).split('\n').filter((l) => /error|warn|crit/.test(l)).join('\n'));
});
