// This file implements what the node runtime puts back after every request, from the perspective
// of the worker that must serve the next user's request as a fresh CGI process would: the
// script's own process state always (process-state.ts), and under `state.globals = "reset"` the
// global object, the built-in objects and the interpreter-wide settings. What cannot be put back
// is returned, and the worker is then replaced.
import crypto from 'node:crypto';
import { symbolWatchedPrototypes, WatchedObjects, wellKnownSymbols } from './builtin-objects.ts';
import { BuiltinsBaseline } from './builtins-baseline.ts';
import { GlobalsBaseline } from './globals-baseline.ts';
import { ModuleAccess } from './module-access.ts';
import { installMutationBarrier } from './mutation-barrier.ts';
import { ProcessBaseline, SettingsBaseline } from './process-state.ts';

/** `process`'s EventEmitter fields: they change with its listeners (reset by state-policy.ts). */
const PROCESS_EMITTER_STATE: ReadonlySet<PropertyKey> = new Set(['_events', '_eventsCount', '_maxListeners']);

/**
 * `process` members that move by themselves and ignore assignment (native accessors without a
 * setter): compared by presence, not read after every request (`ppid` is a system call).
 */
const PROCESS_MOVING_VALUES: ReadonlySet<PropertyKey> = new Set(['ppid']);

/** Members of `process` and `globalThis` that are the runtime's own (process-emulation.ts). */
export interface OwnMembers {
  readonly process: ReadonlySet<PropertyKey>;
  readonly global: ReadonlySet<PropertyKey>;
}

/**
 * The worker's state as captured before any script ran. Construct it after the runtime installed
 * its own accessors and wrappers and added its own `process` listeners: they are part of the
 * worker, not a script's change.
 */
export class StateReset {
  readonly #process = new ProcessBaseline();
  readonly #globals: GlobalsBaseline | undefined;
  readonly #builtins: BuiltinsBaseline | undefined;
  readonly #settings: SettingsBaseline | undefined;
  readonly #modules: ModuleAccess | undefined;
  readonly #keptModules: boolean;
  #scanDue = false;
  #scanModules = false;

  /**
   * @param resetGlobals - `state.globals = "reset"`
   * @param resetModules - `state.modules = "reset"`: a module kept from an earlier request
   *   cannot reach a built-in module's objects without loading it again
   */
  constructor(resetGlobals: boolean, own: OwnMembers, resetModules = true) {
    this.#keptModules = !resetModules;
    if (!resetGlobals) return;
    // Before the built-ins are captured: the wrappers these install are part of the baseline.
    this.#settings = new SettingsBaseline();
    // Listed before the module hooks exist (listing loads the preloaded modules through
    // `require`), captured after them (their wrappers are part of the baseline).
    const watched = new WatchedObjects();
    const initial = watched.initial();
    this.#modules = new ModuleAccess((id, exports) => {
      const added = watched.module(id, exports);
      if (added.length > 0) this.#builtins?.add(added);
    });
    installMutationBarrier();
    this.#builtins = new BuiltinsBaseline(initial, {
      symbolWatched: symbolWatchedPrototypes(),
      symbols: wellKnownSymbols(),
      // `crypto.fips` (deprecated) would cost a native call per request: FIPS mode is watched
      // through `crypto.setFips` (process-state.ts).
      own: new Map<object, ReadonlySet<PropertyKey>>([[process, own.process], [crypto, new Set(['fips'])]]),
      unwatched: new Map([[process, PROCESS_EMITTER_STATE]]),
      presence: new Map([[process, PROCESS_MOVING_VALUES]]),
    });
    this.#globals = new GlobalsBaseline({ ownAccessors: own.global });
  }

  /** Number of built-in objects watched (0 under `state.globals = "keep"`). */
  get watchedObjects(): number {
    return this.#builtins?.size ?? 0;
  }

  /** The script of the run in progress loads modules in a way no wrapper sees (`import()` in its source). */
  loadsModules(): void {
    this.#modules?.reached();
  }

  /**
   * Puts the worker back after a run, as far as it must be before the request's END_REQUEST:
   * the global object, what the script changed of the built-ins reflectively or through a
   * setter (all that may not be put back is among it), its process state and settings. The
   * comparison of every value of the built-ins, which finds only plain assignments (always put
   * back), is left to {@link StateReset.scan}.
   * @returns what could not be put back; the worker must then be replaced
   */
  afterRun(): string[] {
    this.#scanModules ||= this.#modules?.take() === true || this.#keptModules;
    this.#scanDue = this.#builtins !== undefined;
    return [
      ...(this.#builtins?.restoreTouched() ?? []),
      ...(this.#globals?.restore() ?? []),
      ...(this.#settings?.restore() ?? []),
      ...this.#process.restore(),
    ];
  }

  /** True while {@link StateReset.scan} has work left from the last run. */
  get scanDue(): boolean {
    return this.#scanDue;
  }

  /**
   * Compares every watched value with the baseline and puts back what a plain assignment
   * changed (the objects only a loaded module leads to when the run loaded one, or when modules
   * are kept). Must run before the next script; the runtime runs it once the last request's
   * END_REQUEST is out, while the supervisor hands it the next one.
   * @returns what could not be put back (nothing a plain assignment can do: a data property a
   *   script turned into a getter through another realm's `Object.defineProperty`); the worker
   *   must then be replaced
   */
  scan(): string[] {
    if (!this.#scanDue) return [];
    this.#scanDue = false;
    const modules = this.#scanModules;
    this.#scanModules = false;
    return this.#builtins?.restore(modules) ?? [];
  }
}
