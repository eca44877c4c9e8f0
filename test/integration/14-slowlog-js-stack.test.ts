// This file implements the slow log's JavaScript stack (issue 14, item 2) from the perspective
// of an operator reading the slow log of node and handler pools behind nginx: a script that
// keeps the event loop busy in a synchronous loop past `request_slowlog_timeout` gets an entry
// with its function's name and its file:line:column (the worker's sampler thread paused the
// main thread through its inspector session), in a node pool and in a handler pool; a script
// that awaits a timer gets what it waits on, as before.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool, type StackPaths } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

/** Keeps the event loop busy 3 s in a function of its own (a `for (;;)` left by time), then answers. */
const SPIN_JS = [
  'function spinHard(ms) {',
  '  const end = Date.now() + ms;',
  '  for (;;) {',
  '    if (Date.now() > end) return;',
  '  }',
  '}',
  'spinHard(3000);',
  "process.stdout.write('Content-Type: text/plain\\r\\n\\r\\nspun\\n');",
  '',
].join('\n');

/** Awaits a 1.5 s timer, then answers. */
const WAIT_JS = [
  'async function waitAWhile() {',
  '  await new Promise((resolve) => setTimeout(resolve, 1500));',
  "  process.stdout.write('Content-Type: text/plain\\r\\n\\r\\nwaited\\n');",
  '}',
  'waitAWhile();',
  '',
].join('\n');

/** A handler (node:http style) that keeps the event loop busy 3 s before it answers. */
const SPIN_HANDLER = [
  'function handleSlowly(req, res) {',
  '  const end = Date.now() + 3000;',
  '  for (;;) {',
  '    if (Date.now() > end) break;',
  '  }',
  "  res.setHeader('Content-Type', 'text/plain');",
  "  res.end('handled\\n');",
  '}',
  'module.exports = handleSlowly;',
  '',
].join('\n');

const stack = useStack({
  pools: async (paths: StackPaths) => {
    await writeScript(join(paths.root, 'jsstack'), 'spin.js', SPIN_JS);
    await writeScript(join(paths.root, 'jsstack'), 'wait.js', WAIT_JS);
    await writeScript(join(paths.root, 'jshandler'), 'index.js', '');
    await writeFile(join(paths.dir, 'spin-handler.cjs'), SPIN_HANDLER);
    const slowlog = join(paths.dir, 'logs', 'slow.log');
    return {
      jsstack: {
        ...defaultPool(join(paths.root, 'jsstack'), paths.fastcgiSocket), runtime: 'node',
        pm: { max_children: 1 }, request_slowlog_timeout: '300ms', slowlog,
      },
      jshandler: {
        ...defaultPool(join(paths.root, 'jshandler'), paths.fastcgiSocket), runtime: 'handler',
        'handler.module': join(paths.dir, 'spin-handler.cjs'), match: ['**'],
        pm: { max_children: 1 }, request_slowlog_timeout: '300ms', slowlog,
      },
    };
  },
});

async function slowEntry(requestLine: string): Promise<string> {
  const file = join(stack().dir, 'logs', 'slow.log');
  return waitUntil(`slow log entry of ${requestLine}`, async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return text.split('\n\n').find((e) => e.includes(`request = ${requestLine}\n`));
  }, EVENT_TIMEOUT_MS);
}

function quoted(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the slow log of a node pool: the running JavaScript stack', () => {
  it("has the busy script's function and file:line:column, innermost first", async () => {
    const res = await stack().request('/jsstack/spin.js?busy');
    expect([res.status, res.text]).toEqual([200, 'spun\n']);
    const entry = await slowEntry('GET /jsstack/spin.js?busy');
    const script = join(stack().root, 'jsstack', 'spin.js');
    expect(entry).toContain(`script_filename = ${script}`);
    // The loop is on lines 3-4; the call on line 7, the script's top level (anonymous).
    expect(entry).toMatch(new RegExp(`^spinHard\\(\\) ${quoted(script)}:[2-5]:\\d+\n\\(anonymous\\) ${quoted(script)}:7:1$`, 'm'));
    expect(entry).toMatch(/^\(runtime node: the event loop did not answer within 500 ms: the script keeps it busy\)$/m);
    // The worker's own frames (its runtime, Node's event loop) are cut.
    expect(entry).not.toMatch(/dist\/worker|node:internal|no stack/);
  });

  it('names what an awaiting script waits on', async () => {
    const res = await stack().request('/jsstack/wait.js?await');
    expect([res.status, res.text]).toEqual([200, 'waited\n']);
    const entry = await slowEntry('GET /jsstack/wait.js?await');
    expect(entry).toMatch(/^\(runtime node: no JS stack; the event loop is free, the script waits on: .*Timeout.*\)$/m);
  });
});

describe('the slow log of a handler pool: the running JavaScript stack', () => {
  it("has the busy handler's function and file:line:column", async () => {
    const res = await stack().request('/jshandler/slow?busy');
    expect([res.status, res.text]).toEqual([200, 'handled\n']);
    const entry = await slowEntry('GET /jshandler/slow?busy');
    const module = join(stack().dir, 'spin-handler.cjs');
    expect(entry).toMatch(new RegExp(`^handleSlowly\\(\\) ${quoted(module)}:[2-4]:\\d+$`, 'm'));
    expect(entry).toMatch(/^\(runtime handler: the event loop did not answer within 500 ms: the script keeps it busy\)$/m);
    expect(entry).not.toMatch(/dist\/worker|no stack/);
  });
});
