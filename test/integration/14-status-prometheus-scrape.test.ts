// This file implements a real Prometheus server scraping a pool's status page (issue 14, item 1)
// from the perspective of an operator's monitoring: Debian's `prometheus` scrapes
// `/status?openmetrics` through nginx (asking for OpenMetrics, as it does), marks the target up,
// and a PromQL query returns the pool's counters with its `pool` label.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from './helpers/free-port.ts';
import { killQuietly } from './helpers/processes.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const stack = useStack({
  tcp: true,
  pools: (paths: StackPaths) => ({
    main: { ...defaultPool(paths.root, paths.fastcgiSocket), pm: { max_children: 2, status_path: '/status' } },
  }),
});

let prometheus: ChildProcess | undefined;
let output = '';
let apiPort = 0;

beforeAll(async () => {
  const dir = stack().dir;
  apiPort = await freeLoopbackPort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: cgi-fpm',
    '    metrics_path: /status',
    '    params:',
    "      openmetrics: ['']",
    '    static_configs:',
    `      - targets: ['127.0.0.1:${String(stack().tcpPort)}']`,
    '',
  ].join('\n'));
  prometheus = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
    `--web.listen-address=127.0.0.1:${apiPort}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  prometheus.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
});

afterAll(async () => {
  const child = prometheus;
  if (child?.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killQuietly(child.pid, 'SIGTERM');
  await exited;
});

interface QueryResult {
  readonly status: string;
  readonly data: { readonly result: readonly { readonly metric: Record<string, string>; readonly value: [number, string] }[] };
}

async function query(promql: string): Promise<QueryResult['data']['result']> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/query?query=${encodeURIComponent(promql)}`,
    { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as QueryResult;
  return body.data.result;
}

describe('prometheus scraping /status?openmetrics through nginx', () => {
  it("ingests the pool's metrics with the pool label", async () => {
    expect((await stack().request('/hello.sh')).status).toBe(200);
    try {
      const up = await waitUntil('prometheus scraped phpfpm_up', async () => {
        const result = await query('phpfpm_up').catch(() => []);
        return result.length > 0 ? result : undefined;
      }, EVENT_TIMEOUT_MS * 2, 500);
      expect(up[0]?.metric).toMatchObject({ pool: 'main', job: 'cgi-fpm' });
      const accepted = await waitUntil('accepted connections scraped', async () => {
        const result = await query('phpfpm_accepted_connections_total{pool="main"}');
        return result.length > 0 && Number(result[0]?.value[1]) >= 1 ? result : undefined;
      }, EVENT_TIMEOUT_MS, 500);
      expect(Number(accepted[0]?.value[1])).toBeGreaterThanOrEqual(1);
      const buckets = await query('cgifpm_request_duration_seconds_bucket{pool="main",le="+Inf"}');
      expect(Number(buckets[0]?.value[1])).toBeGreaterThanOrEqual(1);
      const health = await query('up{job="cgi-fpm"}');
      expect(health[0]?.value[1]).toBe('1');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprometheus said:\n${output}`, { cause: err });
    }
  });
});
