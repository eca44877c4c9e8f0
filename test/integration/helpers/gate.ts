// This file implements held requests from the perspective of a test that must know a script is
// running, and decide when it ends, instead of guessing with sleeps: a gated script writes
// `started-<name>` (its pid) into the gate's directory, then waits until the test writes
// `release-<name>`, then answers. `<name>` is the request's QUERY_STRING.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeScript } from './scripts.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './wait.ts';

/** The name a gated script goes by when its query string is empty or not `[A-Za-z0-9_-]+`. */
const DEFAULT_NAME = 'gate';

/** The body a gated script answers once released: `released <name>\n`. */
export function released(name: string): string {
  return `released ${name}\n`;
}

/** A directory through which a test holds and releases its gated scripts. */
export class Gate {
  /** Absolute path of the gate's directory. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory `dir` (world-writable: a pool's `user` must write there too). */
  static async open(dir: string): Promise<Gate> {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o777);
    return new Gate(dir);
  }

  /**
   * A `sh` CGI script held by this gate. While it waits it runs `sleep` in a loop (its own
   * process group, so the daemon's kills reach it); released, it answers `text/plain`
   * {@link released}.
   */
  shScript(): string {
    return [
      '#!/bin/sh',
      '# Written by the test: says it started, waits until the test releases it, then answers.',
      'name=${QUERY_STRING:-gate}',
      `case "$name" in *[!A-Za-z0-9_-]*) name=${DEFAULT_NAME} ;; esac`,
      `gate=${shQuote(this.dir)}`,
      'echo $$ > "$gate/started-$name.tmp" && mv "$gate/started-$name.tmp" "$gate/started-$name"',
      'while [ ! -e "$gate/release-$name" ]; do sleep 0.05; done',
      `printf 'Content-Type: text/plain\\r\\n\\r\\nreleased %s\\n' "$name"`,
      '',
    ].join('\n');
  }

  /** The same script for `runtime = "python"` (its pid is the python child's). */
  pythonScript(): string {
    return [
      '# Written by the test: says it started, waits until the test releases it, then answers.',
      'import os, re, sys, time',
      `gate = ${JSON.stringify(this.dir)}`,
      "name = os.environ.get('QUERY_STRING', '')",
      `name = name if re.fullmatch(r'[A-Za-z0-9_-]+', name) else ${JSON.stringify(DEFAULT_NAME)}`,
      "with open(os.path.join(gate, 'started-' + name + '.tmp'), 'w') as f:",
      '    f.write(str(os.getpid()))',
      "os.rename(os.path.join(gate, 'started-' + name + '.tmp'), os.path.join(gate, 'started-' + name))",
      "while not os.path.exists(os.path.join(gate, 'release-' + name)):",
      '    time.sleep(0.05)',
      "sys.stdout.write('Content-Type: text/plain\\r\\n\\r\\nreleased ' + name + '\\n')",
      '',
    ].join('\n');
  }

  /** The pid written by the script `name` once it started, or undefined before. */
  async started(name: string): Promise<number | undefined> {
    const text = await readFile(join(this.dir, `started-${name}`), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return text !== '' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /**
   * Resolves with the pid of script `name` once it runs.
   *
   * @throws Error when it has not started within `timeoutMs`
   */
  waitStarted(name: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<number> {
    return waitUntil(`gated script ${name} started`, () => this.started(name), timeoutMs, 20);
  }

  /**
   * Lets the scripts `names` answer (now, or as soon as they start). Releasing every name a
   * test uses is its cleanup: names are not reused.
   */
  async release(...names: string[]): Promise<void> {
    for (const name of names) await touch(join(this.dir, `release-${name}`));
  }
}

/** Creates `file` atomically (written beside it, then renamed). */
async function touch(file: string): Promise<void> {
  await writeFile(`${file}.tmp`, '');
  await rename(`${file}.tmp`, file);
}

/** `text` as one single-quoted `sh` word. */
function shQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The gate of a suite whose stack starts in `beforeAll`: {@link GateSlot.open} is called from
 * the stack's `pools` function (the temp dir exists only then), the tests use
 * {@link GateSlot.get}.
 */
export class GateSlot {
  #gate: Gate | undefined;

  /**
   * Opens the gate in `<dir>/gate` and writes its `sh` script at each path of `scripts`
   * (absolute, executable).
   */
  async open(dir: string, ...scripts: string[]): Promise<Gate> {
    const gate = await Gate.open(join(dir, 'gate'));
    for (const file of scripts) await writeScript(dirname(file), basename(file), gate.shScript());
    this.#gate = gate;
    return gate;
  }

  /** The gate. @throws Error before {@link GateSlot.open} (the suite's `beforeAll` failed) */
  get(): Gate {
    if (this.#gate === undefined) throw new Error('gate: not opened (see the beforeAll error)');
    return this.#gate;
  }
}
