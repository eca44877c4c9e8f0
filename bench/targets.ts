// This file implements the list of measured targets from the perspective of the bench: the
// same hello page in Python and Node under cgi-fpm's `exec`, under fcgiwrap, under the
// persistent runtimes, and as a handler; each becomes one row, one nginx port, one socket.
import type { Runtime } from '../src/config/schema.ts';

/** Which FastCGI server answers a target. */
export type Backend = 'cgi-fpm' | 'fcgiwrap';

/** One row of the table. */
export interface Target {
  /** Stable id, used in the JSON and as the cgi-fpm pool name. */
  readonly id: string;
  /** What the table calls it. */
  readonly label: string;
  /** The FastCGI server behind nginx. */
  readonly backend: Backend;
  /** The pool's runtime (cgi-fpm targets only). */
  readonly runtime?: Runtime;
  /** The request path: the script's name inside its root, or any path for the handler. */
  readonly path: string;
}

/** The rows, in the order they run and print. */
export const TARGETS: readonly Target[] = [
  { id: 'python-exec', label: 'python exec', backend: 'cgi-fpm', runtime: 'exec', path: '/hello.py' },
  { id: 'python-fcgiwrap', label: 'python fcgiwrap', backend: 'fcgiwrap', path: '/hello.py' },
  {
    id: 'python-persistent',
    label: 'python persistent',
    backend: 'cgi-fpm',
    runtime: 'python',
    path: '/hello.py',
  },
  { id: 'node-exec', label: 'node exec', backend: 'cgi-fpm', runtime: 'exec', path: '/hello.js' },
  { id: 'node-fcgiwrap', label: 'node fcgiwrap', backend: 'fcgiwrap', path: '/hello.js' },
  { id: 'node-persistent', label: 'node persistent', backend: 'cgi-fpm', runtime: 'node', path: '/hello.js' },
  { id: 'handler', label: 'handler', backend: 'cgi-fpm', runtime: 'handler', path: '/hello' },
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
  /** The least value issue 3 asks for, if any. */
  readonly goal?: number;
}

/** The ratios the report prints (goals from issue 3, "Done when"). */
export const RATIOS: readonly RatioSpec[] = [
  {
    id: 'python-persistent/python-exec',
    label: 'python persistent / python exec',
    numerator: 'python-persistent',
    denominator: 'python-exec',
    goal: 30,
  },
  {
    id: 'node-persistent/node-exec',
    label: 'node persistent / node exec',
    numerator: 'node-persistent',
    denominator: 'node-exec',
    goal: 50,
  },
  {
    id: 'handler/node-persistent',
    label: 'handler / node persistent',
    numerator: 'handler',
    denominator: 'node-persistent',
    goal: 1,
  },
  {
    id: 'python-exec/python-fcgiwrap',
    label: 'python: cgi-fpm exec / fcgiwrap',
    numerator: 'python-exec',
    denominator: 'python-fcgiwrap',
  },
  {
    id: 'node-exec/node-fcgiwrap',
    label: 'node: cgi-fpm exec / fcgiwrap',
    numerator: 'node-exec',
    denominator: 'node-fcgiwrap',
  },
];
