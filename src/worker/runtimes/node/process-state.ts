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

/** An identity value comparable with `Object.is` (groups as one string). */
function readIdentity(read: (() => unknown) | undefined): unknown {
  const value = read?.();
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The state of the script's process itself, reset after every run whatever the policies (a
 * fresh CGI process would start without it): the umask, the legacy `RegExp.$1`… `lastMatch`
 * statics (the last match of the previous request: its data), an uncaught-exception capture
 * callback; and the worker's identity, which cannot be given back once a script dropped it.
 */
export class ProcessBaseline {
  readonly #umask: number;
  readonly #identity: readonly unknown[];

  constructor() {
    this.#umask = setUmask(0o077);
    setUmask(this.#umask);
    this.#identity = identityReaders.map(([, read]) => readIdentity(read));
  }

  /**
   * Puts the process back.
   * @returns what cannot be put back (`uid changed from 33 to 0`); empty when all is as it was
   */
  restore(): string[] {
    setUmask(this.#umask);
    apply(regExpExec, emptyPattern, ['']);
    if (hasCaptureCallback()) setCaptureCallback(null);
    const problems: string[] = [];
    identityReaders.forEach(([name, read], i) => {
      const now = readIdentity(read);
      if (!is(now, this.#identity[i])) problems.push(`process ${name} changed from ${String(this.#identity[i])} to ${String(now)}`);
    });
    return problems;
  }
}

/** One interpreter-wide setting behind a getter and a setter function. */
interface Setting {
  readonly name: string;
  readonly read: () => unknown;
  /** Undefined: cannot be put back by the runtime (the worker is replaced instead). */
  readonly write: ((value: unknown) => void) | undefined;
}

function optional(name: string, read: (() => unknown) | undefined, write: ((value: never) => void) | undefined): Setting[] {
  return read === undefined ? [] : [{ name, read, write: write as ((value: unknown) => void) | undefined }];
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
    ...optional('dns servers', () => dns.getServers().join(','), (servers: string) => { dns.setServers(list(servers)); }),
    ...optional('dns.promises servers', () => dns.promises.getServers().join(','),
      (servers: string) => { dns.promises.setServers(list(servers)); }),
    ...optional('dns default result order', dnsOrder.getDefaultResultOrder?.bind(dns), dns.setDefaultResultOrder.bind(dns)),
    ...optional('net default auto-select family', net.getDefaultAutoSelectFamily.bind(net), net.setDefaultAutoSelectFamily.bind(net)),
    ...optional('net default auto-select family attempt timeout', net.getDefaultAutoSelectFamilyAttemptTimeout.bind(net),
      net.setDefaultAutoSelectFamilyAttemptTimeout.bind(net)),
    ...optional('stream default high-water mark', getHwm && (() => getHwm(false)), setHwm && ((value: number) => { setHwm(false, value); })),
    ...optional('stream default object-mode high-water mark', getHwm && (() => getHwm(true)),
      setHwm && ((value: number) => { setHwm(true, value); })),
    ...optional('process max listeners', process.getMaxListeners.bind(process), process.setMaxListeners.bind(process)),
    ...optional('process source maps', setSourceMaps && (() => sourceMaps.sourceMapsEnabled), setSourceMaps),
    ...optional('process priority', () => os.getPriority(), (value: number) => { os.setPriority(value); }),
    ...optional('crypto FIPS mode', crypto.getFips.bind(crypto), undefined),
  ];
}

/**
 * The interpreter-wide settings a script changes by calling a function
 * (`dns.setDefaultResultOrder`, `stream.setDefaultHighWaterMark`, `process.setMaxListeners`,
 * `os.setPriority`, `crypto.setFips`…), put back under `state.globals = "reset"`.
 */
export class SettingsBaseline {
  readonly #settings = knownSettings();
  readonly #values = this.#settings.map((setting) => setting.read());

  /**
   * Puts each changed setting back.
   * @returns what cannot be put back (FIPS mode, a priority the worker may not raise again)
   */
  restore(): string[] {
    const problems: string[] = [];
    this.#settings.forEach((setting, i) => {
      const before = this.#values[i];
      if (is(setting.read(), before)) return;
      try {
        if (setting.write === undefined) throw new Error('no way back');
        setting.write(before);
      } catch {
        problems.push(`${setting.name} changed to ${String(setting.read())}, cannot be put back`);
      }
    });
    return problems;
  }
}
