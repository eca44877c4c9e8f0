// This file implements the process-wide state a script can change through functions rather than
// properties, from the perspective of the node runtime putting the worker back after a request:
// what belongs to the script's own process is reset after every run (umask, the last regular
// expression match, an uncaught-exception capture callback); settings shared by the whole
// interpreter (DNS result order, default high-water marks, the process's max listeners and
// priority, source maps, FIPS) are put back under `state.globals = "reset"`; a changed identity
// (uid, gid, groups) or a setting that cannot be put back is reported so that the worker is
// replaced. Every function used here is captured when the module loads, before any script ran.
import crypto from 'node:crypto';
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import stream from 'node:stream';

const { is } = Object;
const { apply } = Reflect;
const { exec: regExpExec } = RegExp.prototype as { exec: (input: string) => unknown };
const emptyPattern = /(?:)/;

/** `process.umask(mask)`: sets `mask`, answers the one before (never the deprecated read-only form). */
const { umask } = process as { umask: (mask: number) => number };
const setUmask = (mask: number): number => apply<typeof process, [number], number>(umask, process, [mask]);
const hasCaptureCallback = process.hasUncaughtExceptionCaptureCallback.bind(process);
const setCaptureCallback = process.setUncaughtExceptionCaptureCallback.bind(process);

/** The process's identity: a script that changes it (as root) changed the worker for good. */
const identityReaders: readonly (readonly [string, (() => unknown) | undefined])[] = [
  ['uid', process.getuid?.bind(process)],
  ['euid', process.geteuid?.bind(process)],
  ['gid', process.getgid?.bind(process)],
  ['egid', process.getegid?.bind(process)],
  ['groups', process.getgroups?.bind(process)],
];

/** The functions that change the identity: calling one is what makes the check worth its system calls. */
const IDENTITY_SETTERS = ['setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups'];

/** An identity value comparable with `Object.is` (groups as one string). */
function readIdentity(read: (() => unknown) | undefined): unknown {
  const value = read?.();
  return Array.isArray(value) ? value.join(',') : value;
}

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * Calls `onCall` whenever one of the functions `names` of `home` is called: each is replaced by
 * a Proxy of itself (name and length stay). What is read back by a system call (the umask, the
 * identity, the priority) is then read only after a script called the function that changes it,
 * not after every request.
 */
function onCalls(home: object, names: readonly string[], onCall: () => void): void {
  for (const name of names) {
    const descriptor = Reflect.getOwnPropertyDescriptor(home, name);
    const original = descriptor?.value as unknown;
    if (descriptor === undefined || typeof original !== 'function' || descriptor.configurable !== true) continue;
    const apply = (target: AnyFunction, thisArg: unknown, args: unknown[]): unknown => {
      onCall();
      return Reflect.apply(target, thisArg, args);
    };
    Reflect.defineProperty(home, name, { ...descriptor, value: new Proxy(original as AnyFunction, { apply }) });
  }
}

/**
 * The state of the script's process itself, reset after every run whatever the policies (a
 * fresh CGI process would start without it): the umask, the legacy `RegExp.$1`… `lastMatch`
 * statics (the last match of the previous request: its data), an uncaught-exception capture
 * callback; and the worker's identity, which cannot be given back once a script dropped it.
 * Construct it before the built-ins are captured: it wraps `process.umask` and the identity
 * setters.
 */
export class ProcessBaseline {
  readonly #umask: number;
  readonly #identity: readonly unknown[];
  #umaskCalled = false;
  #identityCalled = false;

  constructor() {
    this.#umask = setUmask(0o077);
    setUmask(this.#umask);
    this.#identity = identityReaders.map(([, read]) => readIdentity(read));
    onCalls(process, ['umask'], () => {
      this.#umaskCalled = true;
    });
    onCalls(process, IDENTITY_SETTERS, () => {
      this.#identityCalled = true;
    });
  }

  /**
   * Puts the process back.
   * @returns what cannot be put back (`uid changed from 33 to 0`); empty when all is as it was
   */
  restore(): string[] {
    if (this.#umaskCalled) {
      this.#umaskCalled = false;
      setUmask(this.#umask);
    }
    apply(regExpExec, emptyPattern, ['']);
    if (hasCaptureCallback()) setCaptureCallback(null);
    const problems: string[] = [];
    if (!this.#identityCalled) return problems;
    identityReaders.forEach(([name, read], i) => {
      const now = readIdentity(read);
      if (!is(now, this.#identity[i])) problems.push(`process ${name} changed from ${String(this.#identity[i])} to ${String(now)}`);
    });
    // Changed for good: every later check reports it again, and the worker is being replaced.
    if (problems.length === 0) this.#identityCalled = false;
    return problems;
  }
}

/** One interpreter-wide setting behind a getter and a setter function. */
interface Setting {
  readonly name: string;
  readonly read: () => unknown;
  /** Undefined: cannot be put back by the runtime (the worker is replaced instead). */
  readonly write: ((value: unknown) => void) | undefined;
  /**
   * For a setting read back by a system call or a native call: the functions that change it
   * (`[os, ['setPriority']]`); it is compared only after one was called.
   */
  readonly changedBy?: readonly [object, readonly string[]];
}

function optional(
  name: string,
  read: (() => unknown) | undefined,
  write: ((value: never) => void) | undefined,
  changedBy?: readonly [object, readonly string[]],
): Setting[] {
  if (read === undefined) return [];
  return [{ name, read, write: write as ((value: unknown) => void) | undefined, ...(changedBy ? { changedBy } : {}) }];
}

/** A comma-separated list back as an array (`''` → none). */
function list(joined: string): string[] {
  return joined === '' ? [] : joined.split(',');
}

/** The settings the runtime knows, each with its functions captured now. */
function knownSettings(): Setting[] {
  const streamDefaults = stream as unknown as {
    getDefaultHighWaterMark?: (objectMode: boolean) => number;
    setDefaultHighWaterMark?: (objectMode: boolean, value: number) => void;
  };
  const { getDefaultHighWaterMark: getHwm, setDefaultHighWaterMark: setHwm } = streamDefaults;
  const sourceMaps = process as unknown as { sourceMapsEnabled?: boolean; setSourceMapsEnabled?: (on: boolean) => void };
  const setSourceMaps = sourceMaps.setSourceMapsEnabled?.bind(process);
  const dnsOrder = dns as unknown as { getDefaultResultOrder?: () => string };
  return [
    ...optional('dns servers', () => dns.getServers().join(','), (servers: string) => { dns.setServers(list(servers)); },
      [dns, ['setServers']]),
    ...optional('dns.promises servers', () => dns.promises.getServers().join(','),
      (servers: string) => { dns.promises.setServers(list(servers)); }, [dns.promises, ['setServers']]),
    ...optional('dns default result order', dnsOrder.getDefaultResultOrder?.bind(dns), dns.setDefaultResultOrder.bind(dns)),
    ...optional('net default auto-select family', net.getDefaultAutoSelectFamily.bind(net), net.setDefaultAutoSelectFamily.bind(net)),
    ...optional('net default auto-select family attempt timeout', net.getDefaultAutoSelectFamilyAttemptTimeout.bind(net),
      net.setDefaultAutoSelectFamilyAttemptTimeout.bind(net)),
    ...optional('stream default high-water mark', getHwm && (() => getHwm(false)), setHwm && ((value: number) => { setHwm(false, value); })),
    ...optional('stream default object-mode high-water mark', getHwm && (() => getHwm(true)),
      setHwm && ((value: number) => { setHwm(true, value); })),
    ...optional('process max listeners', process.getMaxListeners.bind(process), process.setMaxListeners.bind(process)),
    ...optional('process source maps', setSourceMaps && (() => sourceMaps.sourceMapsEnabled), setSourceMaps),
    ...optional('process priority', () => os.getPriority(), (value: number) => { os.setPriority(value); }, [os, ['setPriority']]),
    ...optional('crypto FIPS mode', crypto.getFips.bind(crypto), undefined, [crypto, ['setFips']]),
  ];
}

/**
 * The interpreter-wide settings a script changes by calling a function
 * (`dns.setDefaultResultOrder`, `stream.setDefaultHighWaterMark`, `process.setMaxListeners`,
 * `os.setPriority`, `crypto.setFips`…), put back under `state.globals = "reset"`. Construct it
 * before the built-ins are captured: it wraps the setters of the settings read back natively.
 */
export class SettingsBaseline {
  readonly #settings = knownSettings();
  readonly #values = this.#settings.map((setting) => setting.read());
  /** Per setting: compared after every run (a plain read), or only once its setter was called. */
  readonly #due: boolean[];

  constructor() {
    this.#due = this.#settings.map((setting) => setting.changedBy === undefined);
    this.#settings.forEach((setting, i) => {
      if (setting.changedBy === undefined) return;
      const [home, names] = setting.changedBy;
      onCalls(home, names, () => {
        this.#due[i] = true;
      });
    });
  }

  /**
   * Puts each changed setting back.
   * @returns what cannot be put back (FIPS mode, a priority the worker may not raise again)
   */
  restore(): string[] {
    const problems: string[] = [];
    this.#settings.forEach((setting, i) => {
      if (this.#due[i] !== true) return;
      if (setting.changedBy !== undefined) this.#due[i] = false;
      const before = this.#values[i];
      if (is(setting.read(), before)) return;
      try {
        if (setting.write === undefined) throw new Error('no way back');
        setting.write(before);
      } catch {
        this.#due[i] = true;
        problems.push(`${setting.name} changed to ${String(setting.read())}, cannot be put back`);
      }
    });
    return problems;
  }
}
