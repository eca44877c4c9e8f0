// This file implements the list of measured targets from the perspective of the bench: the
// same hello page under cgi-fpm's runtimes and under the peers a user would pick instead
// (fcgiwrap, PHP-FPM, mod_wsgi daemon mode); each becomes one row, one port, one socket.
import type { Isolation, Runtime } from '../src/config/schema.ts';

/**
 * Which server answers a target (behind nginx, or Apache for mod_wsgi); `node-floor` is the
 * calibration (peers/fcgi-floor.ts): Node answering a fixed response, nothing of cgi-fpm's.
 */
export type Backend = 'cgi-fpm' | 'fcgiwrap' | 'php-fpm' | 'mod_wsgi' | 'node-floor';

/** The HTTP server wrk talks to. */
export type Front = 'nginx' | 'apache';

/** What a mod_wsgi daemon process group runs. */
export type WsgiApp = 'native' | 'cgi';

/** One row of the table. */
export interface Target {
  /** Stable id, used in the JSON and as the cgi-fpm pool name. */
  readonly id: string;
  /** What the table calls it. */
  readonly label: string;
  /** The server behind the front. */
  readonly backend: Backend;
  /** The pool's runtime (cgi-fpm targets only). */
  readonly runtime?: Runtime;
  /** The pool's `isolation` (python pools; default `persistent`): issue 16's `fork` row. */
  readonly isolation?: Isolation;
  /** The pool's `exec.worker` (exec pools; default: the python worker): the node-worker rows. */
  readonly execWorker?: 'python' | 'node';
  /** The mod_wsgi application (mod_wsgi targets only). */
  readonly wsgi?: WsgiApp;
  /** The pool's `dispatch` (cgi-fpm targets; default `relay`): issue 13's direct-accept rows. */
  readonly dispatch?: 'relay' | 'direct';
  /**
   * nginx keeps FastCGI connections to it open (`keepalive` + `fastcgi_keep_conn`).
   * @defaultValue true for cgi-fpm targets, false for the peers (nginx-site.ts)
   */
  readonly keepAlive?: boolean;
  /** The request path: the script's name inside its root, or any path for the handler. */
  readonly path: string;
}

/** mod_wsgi is an Apache module: its targets are served by Apache, all others by nginx. */
export function frontOf(target: Target): Front {
  return target.backend === 'mod_wsgi' ? 'apache' : 'nginx';
}

/** The rows, in the order they run and print. */
export const TARGETS: readonly Target[] = [
  { id: 'python-exec', label: 'python exec', backend: 'cgi-fpm', runtime: 'exec', path: '/hello.py' },
  {
    id: 'python-exec-node',
    label: 'python exec, node worker',
    backend: 'cgi-fpm',
    runtime: 'exec',
    execWorker: 'node',
    path: '/hello.py',
  },
  { id: 'python-exec-direct', label: 'python exec direct', backend: 'cgi-fpm', runtime: 'exec', dispatch: 'direct', keepAlive: false,
    path: '/hello.py' },
  { id: 'python-fcgiwrap', label: 'python fcgiwrap', backend: 'fcgiwrap', path: '/hello.py' },
  {
    id: 'python-persistent',
    label: 'python persistent',
    backend: 'cgi-fpm',
    runtime: 'python',
    path: '/hello.py',
  },
  {
    id: 'python-fork',
    label: 'python fork',
    backend: 'cgi-fpm',
    runtime: 'python',
    isolation: 'fork',
    path: '/hello.py',
  },
  // Issue 13: the python worker accepts on the pool's socket itself (no supervisor hop).
  {
    id: 'python-direct', label: 'python direct', backend: 'cgi-fpm', runtime: 'python', dispatch: 'direct', keepAlive: false,
    path: '/hello.py',
  },
  {
    id: 'python-direct-keepalive', label: 'python direct, keep-alive', backend: 'cgi-fpm', runtime: 'python',
    dispatch: 'direct', keepAlive: true, path: '/hello.py',
  },
  {
    id: 'python-wsgi-cgi',
    label: 'python mod_wsgi CGI',
    backend: 'mod_wsgi',
    wsgi: 'cgi',
    path: '/hello.py',
  },
  { id: 'python-wsgi', label: 'python mod_wsgi WSGI', backend: 'mod_wsgi', wsgi: 'native', path: '/hello' },
  { id: 'node-exec', label: 'node exec', backend: 'cgi-fpm', runtime: 'exec', path: '/hello.js' },
  { id: 'node-fcgiwrap', label: 'node fcgiwrap', backend: 'fcgiwrap', path: '/hello.js' },
  { id: 'node-persistent', label: 'node persistent', backend: 'cgi-fpm', runtime: 'node', path: '/hello.js' },
  // The node runtime with its workers accepting themselves (one request at a time each).
  {
    id: 'node-direct', label: 'node direct', backend: 'cgi-fpm', runtime: 'node', dispatch: 'direct', keepAlive: false,
    path: '/hello.js',
  },
  {
    id: 'node-direct-keepalive', label: 'node direct, keep-alive', backend: 'cgi-fpm', runtime: 'node', dispatch: 'direct',
    keepAlive: true, path: '/hello.js',
  },
  { id: 'handler', label: 'handler', backend: 'cgi-fpm', runtime: 'handler', path: '/hello' },
  // PHP-FPM's model: the workers accept themselves; nginx without upstream keep-alive, as for PHP-FPM.
  {
    id: 'handler-direct', label: 'handler direct', backend: 'cgi-fpm', runtime: 'handler', dispatch: 'direct', keepAlive: false,
    path: '/hello',
  },
  {
    id: 'handler-direct-keepalive', label: 'handler direct, keep-alive', backend: 'cgi-fpm', runtime: 'handler',
    dispatch: 'direct', keepAlive: true, path: '/hello',
  },
  { id: 'php-fpm', label: 'php-fpm', backend: 'php-fpm', path: '/hello.php' },
  // The ceiling of any Node worker here: two Node processes accepting on one socket, a fixed answer.
  { id: 'node-floor', label: 'node floor (calibration)', backend: 'node-floor', keepAlive: false, path: '/hello' },
  { id: 'node-floor-keepalive', label: 'node floor, keep-alive', backend: 'node-floor', keepAlive: true, path: '/hello' },
  { id: 'sh-exec', label: 'sh exec', backend: 'cgi-fpm', runtime: 'exec', path: '/hello.sh' },
  { id: 'sh-exec-node', label: 'sh exec, node worker', backend: 'cgi-fpm', runtime: 'exec', execWorker: 'node', path: '/hello.sh' },
  { id: 'sh-exec-direct', label: 'sh exec direct', backend: 'cgi-fpm', runtime: 'exec', dispatch: 'direct', keepAlive: false, path: '/hello.sh' },
  { id: 'sh-fcgiwrap', label: 'sh fcgiwrap', backend: 'fcgiwrap', path: '/hello.sh' },
];

/** A ratio between two rows' req/s, with the issue's goal where it sets one. */
export interface RatioSpec {
  readonly id: string;
  /** What the report calls it. */
  readonly label: string;
  /** Target id whose req/s is divided… */
  readonly numerator: string;
  /** …by this target's req/s. */
  readonly denominator: string;
  /** The least value an issue asks for, if any. */
  readonly goal?: number;
}

function ratio(numerator: string, denominator: string, label: string, goal?: number): RatioSpec {
  const id = `${numerator}/${denominator}`;
  return goal === undefined
    ? { id, label, numerator, denominator }
    : { id, label, numerator, denominator, goal };
}

/**
 * The ratios the report prints: issue 3's (persistent over exec, handler over node), issue
 * 13's against the peers ("Done when": each at least 1×) and issue 16's for `isolation = "fork"`
 * (≥ 10× exec, ≥ 0.3× persistent).
 */
export const RATIOS: readonly RatioSpec[] = [
  ratio('python-persistent', 'python-exec', 'python persistent / python exec', 30),
  ratio('python-fork', 'python-exec', 'python fork / python exec', 10),
  ratio('python-fork', 'python-persistent', 'python fork / python persistent', 0.3),
  ratio('python-fork', 'python-fcgiwrap', 'python fork / fcgiwrap'),
  ratio('node-persistent', 'node-exec', 'node persistent / node exec', 50),
  ratio('handler', 'node-persistent', 'handler / node persistent', 1),
  ratio('python-persistent', 'python-wsgi-cgi', 'python persistent / mod_wsgi CGI', 1),
  ratio('python-persistent', 'python-wsgi', 'python persistent / mod_wsgi WSGI', 1),
  ratio('python-direct', 'python-wsgi-cgi', 'python direct / mod_wsgi CGI', 1),
  ratio('python-direct-keepalive', 'python-wsgi-cgi', 'python direct keep-alive / mod_wsgi CGI', 1),
  ratio('handler', 'php-fpm', 'handler / php-fpm', 1),
  ratio('handler-direct', 'php-fpm', 'handler direct / php-fpm', 1),
  ratio('handler-direct-keepalive', 'php-fpm', 'handler direct keep-alive / php-fpm', 1),
  ratio('node-floor', 'php-fpm', 'node floor / php-fpm'),
  ratio('node-floor-keepalive', 'php-fpm', 'node floor keep-alive / php-fpm'),
  ratio('handler-direct', 'node-floor', 'handler direct / node floor'),
  ratio('handler-direct-keepalive', 'node-floor-keepalive', 'handler direct keep-alive / node floor keep-alive'),
  ratio('node-persistent', 'python-wsgi-cgi', 'node persistent / mod_wsgi CGI', 1),
  ratio('node-direct', 'python-wsgi-cgi', 'node direct / mod_wsgi CGI', 1),
  ratio('node-direct-keepalive', 'python-wsgi-cgi', 'node direct keep-alive / mod_wsgi CGI', 1),
  ratio('sh-exec', 'sh-fcgiwrap', 'sh: cgi-fpm exec / fcgiwrap', 1),
  ratio('python-exec', 'python-fcgiwrap', 'python: cgi-fpm exec / fcgiwrap', 1),
  ratio('sh-exec-direct', 'sh-fcgiwrap', 'sh: cgi-fpm exec direct / fcgiwrap', 1),
  ratio('python-exec-direct', 'python-fcgiwrap', 'python: cgi-fpm exec direct / fcgiwrap', 1),
  ratio('node-exec', 'node-fcgiwrap', 'node: cgi-fpm exec / fcgiwrap'),
  ratio('sh-exec', 'sh-exec-node', 'sh exec: python worker / node worker'),
  ratio('python-exec', 'python-exec-node', 'python exec: python worker / node worker'),
];
