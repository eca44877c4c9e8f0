// This file implements issue 15's checks from the perspective of an operator who runs two
// cgi-fpm hosts behind the load balancers they already have: each host in its own network
// namespace (addresses that exist only inside the lab), nginx (`upstream`, keepalive, passive
// health) and HAProxy (`fcgi-app`, `proto fcgi`, health checks on the ping path, `mpxs-conns`)
// in a third. Under bounded load through each front end: requests spread across both hosts, a
// drained host (SIGTERM) loses no request, a host killed with SIGKILL costs at most the requests
// it had in flight and is then avoided, HAProxy multiplexes requests over shared connections,
// and a client outside `listen.allowed_clients` is refused.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlSocketIn, daemonStatus } from './helpers/control.ts';
import { startDaemon, type Daemon } from './helpers/daemon.ts';
import { startHaproxy, type Haproxy } from './helpers/haproxy.ts';
import { httpRequest, type HttpResponse } from './helpers/http.ts';
import { runLoad } from './helpers/load.ts';
import { createLab, labUnavailable, type Lab } from './helpers/netns.ts';
import { startNginx, type Nginx } from './helpers/nginx.ts';
import { createTempDir, type TempDir } from './helpers/temp-dir.ts';
import { waitUntil } from './helpers/wait.ts';
import { type Host, PORT, BACKLOG, HOST_SCRIPT, hostConfig, nginxSite, haproxyConfig, tagOf } from './helpers/multi-host-lab.ts';

const unavailable = await labUnavailable();
if (unavailable !== undefined) {
  // Said once, plainly, so a skipped run is never mistaken for a passed one.
  console.warn(`15-multi-host-netns: skipped: ${unavailable}`);
}

describe.skipIf(unavailable !== undefined)('several cgi-fpm hosts behind nginx and HAProxy (network namespaces)', () => {
  let tmp: TempDir | undefined;
  let lab: Lab | undefined;
  let root = '';
  let nginx: Nginx | undefined;
  let haproxy: Haproxy | undefined;
  const hosts: Host[] = [];

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what}: not started (see the beforeAll error)`);
    return value;
  };
  const hostDir = (host: Host): string => join(need(tmp, 'temp dir').path, `host-${host.lab.name}`);
  const statusOf = async (host: Host) => daemonStatus(controlSocketIn(hostDir(host)));
  const startHost = async (host: Host): Promise<Daemon> => {
    const dir = hostDir(host);
    await mkdir(dir, { recursive: true });
    host.daemon = await startDaemon({ dir, config: hostConfig(host.lab, root), launcher: need(lab, 'lab').launcher(host.lab.ns) });
    return host.daemon;
  };
  const viaNginx = (path: string): Promise<HttpResponse> => httpRequest({ socketPath: need(nginx, 'nginx').httpSocket, path, timeoutMs: 20_000 });
  const viaHaproxy = (path: string): Promise<HttpResponse> => httpRequest({ socketPath: need(haproxy, 'haproxy').httpSocket, path, timeoutMs: 20_000 });

  beforeAll(async () => {
    const dir = await createTempDir('cgi-fpm-15-');
    tmp = dir;
    const net = await createLab(['a', 'b']);
    lab = net;
    root = join(dir.path, 'root');
    await mkdir(root);
    await writeFile(join(root, 'host.js'), HOST_SCRIPT);
    await chmod(join(root, 'host.js'), 0o755);
    for (const l of net.hosts) hosts.push({ lab: l, daemon: undefined });
    for (const host of hosts) await startHost(host);
    nginx = await startNginx({
      dir: join(dir.path, 'nginx'), httpSocket: join(dir.path, 'nginx.sock'),
      site: nginxSite(net.hosts, root, join(dir.path, 'nginx.sock')), launcher: net.launcher(net.front),
    });
    haproxy = await startHaproxy({
      dir: join(dir.path, 'haproxy'), httpSocket: join(dir.path, 'haproxy.sock'),
      config: haproxyConfig(net.hosts, root, join(dir.path, 'haproxy.sock')), launcher: net.launcher(net.front),
    });
    // HAProxy's first checks must pass before a test counts its answers.
    await waitUntil('HAProxy answering from both hosts', async () => {
      const tags = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const res = await viaHaproxy('/host.js');
        if (res.status === 200) tags.add(tagOf(res) ?? '');
      }
      return tags.has('a') && tags.has('b');
    }, 30_000, 200);
  }, 120_000);

  afterAll(async () => {
    await haproxy?.stop();
    await nginx?.stop();
    for (const host of hosts) await host.daemon?.stop();
    await lab?.remove();
    await tmp?.remove();
  }, 120_000);

  it('spreads requests across both hosts through nginx and through HAProxy', async () => {
    for (const send of [viaNginx, viaHaproxy]) {
      const seen = new Set<string>();
      for (let i = 0; i < 40; i += 1) {
        const res = await send('/host.js');
        expect(res.status).toBe(200);
        seen.add(tagOf(res) ?? 'none');
      }
      expect([...seen].sort()).toEqual(['a', 'b']);
    }
  });

  it('refuses a client outside listen.allowed_clients at accept and logs it (IPv4 and dual-stack [::] listeners); the front end is let in', async () => {
    const net = need(lab, 'lab');
    for (const host of hosts) {
      const daemon = host.daemon;
      if (daemon === undefined) throw new Error(`host ${host.lab.name} not running`);
      const since = daemon.logs.length;
      const probe = (from: string): Promise<string> => net.run(net.front, process.execPath, ['-e', `
        const s = require('node:net').connect({ host: ${JSON.stringify(host.lab.address)}, port: ${String(PORT)}, localAddress: ${JSON.stringify(from)} });
        // FCGI_GET_VALUES for FCGI_MPXS_CONNS: a host that lets us in answers it.
        s.on('connect', () => s.write(Buffer.from([1, 9, 0, 0, 0, 17, 7, 0, 15, 0, ...Buffer.from('FCGI_MPXS_CONNS'), 0, 0, 0, 0, 0, 0, 0])));
        let got = 0;
        s.on('data', (d) => { got += d.length; });
        s.on('close', () => { console.log(got > 0 ? 'answered' : 'closed'); });
        s.on('error', () => {});
        setTimeout(() => { console.log('timeout'); process.exit(0); }, 5000).unref();
        setTimeout(() => s.end(), 1000);
      `]);
      expect((await probe(host.lab.strangerAddress)).trim()).toBe('closed');
      expect((await probe(host.lab.frontAddress)).trim()).toBe('answered');
      const refusal = await daemon.waitForLog(
        (e) => e.msg === 'client refused' && String(e.remote).endsWith(host.lab.strangerAddress), 10_000, since);
      expect(refusal.level).toBeGreaterThanOrEqual(40);
      // A second refusal within the minute is counted, not logged again.
      expect((await probe(host.lab.strangerAddress)).trim()).toBe('closed');
      const listener = (await statusOf(host)).listeners?.[0];
      expect(listener?.refusedConnections).toBeGreaterThanOrEqual(2);
      expect(daemon.logs.slice(since).filter((e) => e.msg === 'client refused')).toHaveLength(1);
    }
  });

  it('applies listen.backlog to the listening socket (the kernel shows it as Send-Q)', async () => {
    const net = need(lab, 'lab');
    for (const host of hosts) {
      const out = await net.run(host.lab.ns, 'ss', ['-Hltn', `sport = :${String(PORT)}`]);
      // State Recv-Q Send-Q Local Peer: Send-Q of a listening socket is its backlog.
      expect(out.trim().split(/\s+/)[2]).toBe(String(BACKLOG));
    }
  });

  it('HAProxy with mpxs-conns sends several concurrent requests over one connection, bodies intact', async () => {
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => viaHaproxy(`/host.js?ms=300&i=${String(i)}`)));
    for (const res of results) {
      expect(res.status, `${res.text.slice(0, 300)}\n${need(haproxy, 'haproxy').output().slice(-3000)}`).toBe(200);
      expect(res.text).toMatch(/^host=(a|b)\n$/);
    }
    // Counted on the cgi-fpm side (`cgi-fpm status`, listeners): a connection that carried
    // several requests at the same time, and requests that began beside another on theirs.
    let shared = 0;
    let multiplexed = 0;
    for (const host of hosts) {
      const listener = (await statusOf(host)).listeners?.[0];
      shared = Math.max(shared, listener?.maxConcurrentRequests ?? 0);
      multiplexed += listener?.multiplexedRequests ?? 0;
    }
    expect(shared).toBeGreaterThan(1);
    expect(multiplexed).toBeGreaterThan(0);
  });

  it('SIGTERM drains one host during load through both front ends: 0 failed requests, exit 0', async () => {
    const [a] = hosts;
    if (a?.daemon === undefined) throw new Error('host a not running');
    const daemon = a.daemon;
    const load = runLoad({
      clients: 6,
      durationMs: 6000,
      send: (client) => (client % 2 === 0 ? viaNginx('/host.js?ms=50') : viaHaproxy('/host.js?ms=50')),
      check: (res) => (res.status === 200 && tagOf(res) !== undefined ? undefined : `status ${String(res.status)}: ${res.text.slice(0, 200)}`),
    });
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(daemon.pid, 'SIGTERM');
    const result = await load;
    expect(result.failures).toEqual([]);
    expect(result.total).toBeGreaterThan(20);
    expect((await daemon.exited).code).toBe(0);
    await startHost(a);
    await waitUntil('HAProxy sees host a again', async () => tagOf(await viaHaproxy('/host.js')) === 'a', 20_000, 200);
    // nginx marked host a failed when its listener closed (max_fails=1): it tries again after
    // fail_timeout, and the next test needs both hosts live in both front ends.
    await waitUntil('nginx sees host a again', async () => tagOf(await viaNginx('/host.js')) === 'a', 30_000, 200);
  }, 60_000);

  it('kill -9 of one supervisor during load: failures at most its requests in flight, then it is avoided', async () => {
    const [, b] = hosts;
    if (b?.daemon === undefined) throw new Error('host b not running');
    const maxInFlight = 4 + 64; // pm.max_children + queue.max of its pool
    const load = runLoad({
      clients: 6,
      durationMs: 4000,
      send: (client) => (client % 2 === 0 ? viaNginx('/host.js?ms=50') : viaHaproxy('/host.js?ms=50')),
      check: (res) => (res.status === 200 ? undefined : `status ${String(res.status)}`),
    });
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(b.daemon.pid, 'SIGKILL');
    const during = await load;
    expect(during.failures.length, during.failures.slice(0, 5).join('\n')).toBeLessThanOrEqual(maxInFlight);
    // After the front ends noticed (nginx: one failure, max_fails=1; HAProxy: fall 2 × 300 ms),
    // every request goes to host a.
    await new Promise((r) => setTimeout(r, 2000));
    const after = runLoad({
      clients: 4,
      durationMs: 3000,
      send: (client) => (client % 2 === 0 ? viaNginx('/host.js') : viaHaproxy('/host.js')),
      check: (res) => (res.status === 200 && tagOf(res) === 'a' ? undefined : `status ${String(res.status)} ${res.text.slice(0, 80)}`),
    });
    expect((await after).failures).toEqual([]);
  }, 60_000);
});
