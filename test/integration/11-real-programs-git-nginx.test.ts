// This file implements issue 11's real-program checks from the perspective of a git user and a
// repository browser behind nginx: Debian's git-http-backend (clone, small push, 20 MB push of
// incompressible files sent chunked), gitweb and cgit, all unmodified in `exec` pools. A push
// is the case that hangs when the response head reaches nginx before the request body was read
// (git-http-backend's receive-pack writes its head first, then reads the pack).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from './helpers/http.ts';
import { REPO_NAME, SEED_SUBJECT, startRealProgramsSite, type RealProgramsSite } from './helpers/real-programs.ts';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function get(site: RealProgramsSite, path: string): ReturnType<typeof httpRequest> {
  const url = new URL(site.baseUrl);
  return httpRequest({ port: Number(url.port), path });
}

describe.each([
  { bodyBuffering: true, dispatch: 'relay', label: 'nginx buffers the request body (default)' },
  { bodyBuffering: false, dispatch: 'relay', label: 'fastcgi_request_buffering off (body streamed)' },
  // The workers accept and hold the response themselves (python worker, _cgi_fpm_direct_hold.py).
  { bodyBuffering: true, dispatch: 'direct', label: 'dispatch = "direct", nginx buffers the body' },
  { bodyBuffering: false, dispatch: 'direct', label: 'dispatch = "direct", body streamed' },
] as const)('git-http-backend behind nginx: $label', ({ bodyBuffering, dispatch }) => {
  let site: RealProgramsSite;
  beforeAll(async () => {
    site = await startRealProgramsSite({ bodyBuffering, dispatch });
  });
  afterAll(async () => {
    await site.stop();
  });

  it('clones over smart HTTP', async () => {
    const dest = join(site.dir, 'clone-1');
    await site.git(['clone', `${site.baseUrl}/git/${REPO_NAME}`, dest]);
    expect(await site.git(['log', '-1', '--format=%s'], dest)).toBe(`${SEED_SUBJECT}\n`);
  });

  it('pushes a small commit (Content-Length body) and a fresh clone has it', async () => {
    const work = join(site.dir, 'work-small');
    await site.git(['clone', `${site.baseUrl}/git/${REPO_NAME}`, work]);
    const data = randomBytes(100 * 1024);
    await writeFile(join(work, 'small.bin'), data);
    await site.git(['add', 'small.bin'], work);
    await site.git(['commit', '-m', 'small push'], work);
    await site.git(['push', 'origin', 'main'], work);
    const fresh = join(site.dir, 'fresh-small');
    await site.git(['clone', `${site.baseUrl}/git/${REPO_NAME}`, fresh]);
    expect(sha256(await readFile(join(fresh, 'small.bin')))).toBe(sha256(data));
  });

  it('pushes 20 MB of random files (chunked body, head written before the pack is read) and a fresh clone matches', async () => {
    const work = join(site.dir, 'work-large');
    await site.git(['clone', `${site.baseUrl}/git/${REPO_NAME}`, work]);
    await mkdir(join(work, 'large'));
    const sums = new Map<string, string>();
    for (let i = 0; i < 5; i += 1) {
      const data = randomBytes(4 * 1024 * 1024);
      const name = `large/random-${String(i)}.bin`;
      await writeFile(join(work, name), data);
      sums.set(name, sha256(data));
    }
    await site.git(['add', 'large'], work);
    await site.git(['commit', '-m', 'twenty megabytes'], work);
    // git sends bodies above http.postBuffer (1 MiB) with Transfer-Encoding: chunked.
    await site.git(['push', 'origin', 'main'], work, 180_000);
    const fresh = join(site.dir, 'fresh-large');
    await site.git(['clone', `${site.baseUrl}/git/${REPO_NAME}`, fresh], site.dir, 180_000);
    for (const [name, sum] of sums) expect(sha256(await readFile(join(fresh, name)))).toBe(sum);
    expect(await site.git(['rev-parse', 'HEAD'], fresh)).toBe(await site.git(['rev-parse', 'HEAD'], work));
  }, 300_000);
});

describe('gitweb and cgit behind nginx', () => {
  let site: RealProgramsSite;
  beforeAll(async () => {
    site = await startRealProgramsSite();
  });
  afterAll(async () => {
    await site.stop();
  });

  it('gitweb lists the project and shows its seed commit', async () => {
    const list = await get(site, '/gitweb/');
    expect(list.status).toBe(200);
    expect(list.headers['content-type']).toMatch(/^(text\/html|application\/xhtml\+xml)/);
    expect(list.text).toContain(REPO_NAME);
    const summary = await get(site, `/gitweb/?p=${REPO_NAME};a=summary`);
    expect(summary.status).toBe(200);
    expect(summary.text).toContain(SEED_SUBJECT);
    expect(summary.text).toContain('The real-programs test repository');
  });

  it('gitweb answers an unknown project with its own 404 page', async () => {
    const res = await get(site, '/gitweb/?p=nope.git;a=summary');
    expect(res.status).toBe(404);
    expect(res.text).toContain('No such project');
  });

  it('cgit lists the repository and shows its log', async () => {
    const index = await get(site, '/cgit/');
    expect(index.status).toBe(200);
    expect(index.text).toContain(REPO_NAME.replace(/\.git$/, ''));
    const log = await get(site, `/cgit/${REPO_NAME}/log/`);
    expect(log.status).toBe(200);
    expect(log.text).toContain(SEED_SUBJECT);
  });

  it('cgit serves a raw blob byte for byte', async () => {
    const res = await get(site, `/cgit/${REPO_NAME}/plain/README`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('seeded\n');
  });
});
