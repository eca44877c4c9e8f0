// This file implements the state-leak probes from the perspective of the tests that attack the
// node runtime's reset, unit and integration alike: one CommonJS CGI script that, asked
// `?set=ROW`, changes one kind of interpreter-wide state the way a careless or hostile script
// would, and asked `?check=ROW`, reports whether that change is visible — one row per kind of
// state in docs/ISOLATION-node.md.

/**
 * The rows: what each changes (`set`) and how a later request sees the change (`check` returns
 * true when it does). Expressions of the probe script, in its scope (`crypto`, `fs`, `events`,
 * `dns`, `stream` required).
 */
export const STATE_PROBES = {
  'global': { set: "globalThis.leaked = 'user A'", check: "typeof globalThis.leaked !== 'undefined'" },
  'global-accessor': { set: "performance = 'user A'", check: "typeof performance === 'string'" },
  'object-prototype': { set: 'Object.prototype.isAdmin = true', check: '({}).isAdmin === true' },
  'object-prototype-defined': {
    set: "Object.defineProperty(Object.prototype, 'toJSON', { value: () => 'user A', configurable: true })",
    check: "JSON.stringify({}) === '\"user A\"'",
  },
  'array-prototype': { set: 'Array.prototype.includes = () => true', check: '[].includes(1)' },
  'string-prototype': { set: "String.prototype.trim = function () { return 'user A'; }", check: "' x '.trim() === 'user A'" },
  'function-prototype': { set: 'Function.prototype.leaked = 1', check: '(() => 0).leaked === 1' },
  'promise': { set: "Promise.resolve = () => 'user A'", check: "Promise.resolve(1) === 'user A'" },
  'symbol-iterator': {
    set: 'Object.prototype[Symbol.iterator] = function* () { yield 1; }',
    check: "typeof ({})[Symbol.iterator] === 'function'",
  },
  'json': { set: "JSON.parse = () => ({ user: 'A' })", check: "JSON.parse('{}').user === 'A'" },
  'math': { set: 'Math.random = () => 0.25', check: 'Math.random() === 0.25' },
  'reflect': { set: 'Reflect.ownKeys = () => []', check: 'Reflect.ownKeys({ a: 1 }).length === 0' },
  'crypto-random-bytes': {
    set: 'crypto.randomBytes = (n) => Buffer.alloc(n)',
    check: "crypto.randomBytes(16).toString('hex') === '0'.repeat(32)",
  },
  'fs': { set: "fs.readFileSync = () => 'user A'", check: "fs.readFileSync(__filename) === 'user A'" },
  // A module the worker does not load before a script does: captured when first required.
  'lazily-loaded-module': {
    set: "require('querystring').escape = () => 'user A'",
    check: "require('querystring').escape('x') === 'user A'",
  },
  'module-class-prototype': {
    set: "require('http').ServerResponse.prototype.leaked = 1",
    check: "require('http').ServerResponse.prototype.leaked === 1",
  },
  'event-emitter-prototype': { set: 'events.prototype.leaked = 1', check: 'new events().leaked === 1' },
  'module-setting': { set: 'events.defaultMaxListeners = 99', check: 'events.defaultMaxListeners === 99' },
  'function-setting': { set: "dns.setDefaultResultOrder('ipv6first')", check: "dns.getDefaultResultOrder() === 'ipv6first'" },
  'stream-setting': { set: 'stream.setDefaultHighWaterMark(false, 1)', check: 'stream.getDefaultHighWaterMark(false) === 1' },
  'process-member': { set: "process.emitWarning = () => 'user A'; process.leaked = 1", check: 'process.leaked === 1' },
  // `ppid` is compared by presence only (reading it is a system call; V8 ignores an assignment or
  // a data definition over it): deleted, it is still put back.
  'process-ppid-deleted': { set: 'delete process.ppid', check: "!('ppid' in process)" },
  'env': { set: "process.env.LEAKED = 'user A'", check: 'process.env.LEAKED !== undefined' },
  'cwd': { set: "process.chdir('/')", check: "process.cwd() === '/'" },
  'umask': { set: 'process.umask(0)', check: '(() => { const m = process.umask(0o077); process.umask(m); return m === 0; })()' },
  'listeners': {
    set: "process.on('SIGUSR2', () => {}); process.on('exit', () => {})",
    check: "process.listenerCount('SIGUSR2') + process.listenerCount('exit') > 0",
  },
  'regexp-statics': { set: "/token=(\\w+)/.exec('token=userA')", check: "RegExp.$1 === 'userA'" },
  'capture-callback': {
    set: 'process.setUncaughtExceptionCaptureCallback(() => {})',
    check: 'process.hasUncaughtExceptionCaptureCallback()',
  },
} as const;

/** A row of {@link STATE_PROBES}. */
export type StateProbe = keyof typeof STATE_PROBES;

/**
 * Rows the runtime resets after every request whatever the policies: they belong to the
 * script's own process. The others follow `state.globals`.
 */
export const ALWAYS_RESET: ReadonlySet<StateProbe> = new Set([
  'env', 'cwd', 'umask', 'listeners', 'regexp-statics', 'capture-callback',
]);

/**
 * The probe script: `?set=ROW` changes it, `?check=ROW` answers `seen=true|false`; both print
 * `pid=N` (which worker answered).
 */
export function stateProbeScript(): string {
  const rows = Object.entries(STATE_PROBES)
    .map(([row, { set, check }]) => `  ${JSON.stringify(row)}: { set: () => { ${set}; }, check: () => ${check} },`)
    .join('\n');
  return `#!/usr/bin/env node
const crypto = require('crypto'), fs = require('fs'), events = require('events');
const dns = require('dns'), stream = require('stream');
const rows = {
${rows}
};
const query = new URLSearchParams(process.env.QUERY_STRING || '');
const out = ['pid=' + process.pid];
if (query.has('set')) { rows[query.get('set')].set(); out.push('set=' + query.get('set')); }
if (query.has('check')) out.push('seen=' + String(rows[query.get('check')].check()));
process.stdout.write('Content-Type: text/plain\\r\\n\\r\\n' + out.join(' ') + '\\n');
`;
}

/** `seen=true` → true, `seen=false` → false, and the pid, from a probe's answer. */
export function readProbe(body: string): { pid: number; seen: boolean | undefined } {
  const pid = Number(/pid=(\d+)/.exec(body)?.[1]);
  const seen = /seen=(true|false)/.exec(body)?.[1];
  return { pid, seen: seen === undefined ? undefined : seen === 'true' };
}
