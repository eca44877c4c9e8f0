// This file implements a first-in first-out queue from the perspective of a pool's waiting
// requests: push and shift in O(1) (amortized; an array with a head index, compacted once half
// of it is spent), and a look at the head without taking it.

/** A FIFO of `T`. */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Items in the queue. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds `item` at the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The head, without taking it; `undefined` when empty. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Takes the head; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head += 1;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Takes every item, in order. */
  drain(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
