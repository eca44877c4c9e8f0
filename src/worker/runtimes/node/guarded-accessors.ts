// This file implements Node's accessor globals from the perspective of the node runtime resetting
// `globalThis` after each request: Node defines many globals as accessors whose setter keeps the
// assigned value in a closure (`process`, `Buffer`, `performance`) or turns the accessor into a
// data property (the lazily loaded web classes: `Blob`, `TextEncoder`, `atob`…), and whose getter
// turns it into a data property on first use. Neither shows in the descriptor the baseline
// compares, or both look like a change when nothing leaked. Each is replaced, before any script
// runs, by an accessor of the runtime's that reads Node's value once and keeps what a script
// assigns aside, where the reset finds and forgets it.

// As loaded with this module, before the mutation barrier wraps them: the guard's own
// redefinitions are not a script's changes.
const { apply, defineProperty, getOwnPropertyDescriptor, ownKeys } = Reflect;

/** The accessors of one object, guarded. */
export class GuardedAccessors {
  readonly #target: object;
  readonly #slots: { assigned: boolean; value: unknown }[] = [];
  #anyAssigned = false;

  /**
   * Guards every configurable accessor of `target` not in `skip`.
   * @param skip - keys to leave as they are (the runtime's own accessors, e.g. `console`)
   */
  constructor(target: object, skip: ReadonlySet<PropertyKey>) {
    this.#target = target;
    for (const key of ownKeys(target)) {
      const original = getOwnPropertyDescriptor(target, key);
      if (skip.has(key) || original?.get === undefined || original.configurable !== true) continue;
      this.#guard(key, original);
    }
  }

  /** True when a script assigned one since the last {@link GuardedAccessors.forget}. */
  get assigned(): boolean {
    return this.#anyAssigned;
  }

  /** Drops every assigned value: each accessor reads Node's value again. */
  forget(): void {
    if (!this.#anyAssigned) return;
    for (const slot of this.#slots) {
      slot.assigned = false;
      slot.value = undefined;
    }
    this.#anyAssigned = false;
  }

  #guard(key: PropertyKey, original: PropertyDescriptor): void {
    const target = this.#target;
    const { get: nodeGet } = original as { get: () => unknown };
    const slot = { assigned: false, value: undefined as unknown };
    this.#slots.push(slot);
    let resolved = false;
    let value: unknown;
    const guarded: PropertyDescriptor = {
      enumerable: original.enumerable === true,
      configurable: true,
      get() {
        if (slot.assigned) return slot.value;
        if (!resolved) {
          value = apply(nodeGet, target, []);
          resolved = true;
          // Node's lazy getter defined a data property in our place: be the accessor again.
          if (getOwnPropertyDescriptor(target, key)?.get !== guarded.get) defineProperty(target, key, guarded);
        }
        return value;
      },
    };
    if (original.set !== undefined) {
      guarded.set = (assigned: unknown) => {
        slot.assigned = true;
        slot.value = assigned;
        this.#anyAssigned = true;
      };
    }
    defineProperty(target, key, guarded);
  }
}
