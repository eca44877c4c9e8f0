// This file implements what a runtime gets for one request, from the perspective of the worker's
// request loop handing it over: the script and the environment as bytes, their text decoded only
// when a runtime reads it, and the structured head going to the CGI output stage. A class (one
// shape for every request), not an object literal with a getter: a runtime reads its fields many
// times per request.
import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  buildEnvironment, buildTextEnvironment, textEnvironment, type CgiEnvironment, type EnvironmentOptions, type ParamSource,
} from '../cgi/environment.ts';
import { environmentSource, requestVariables } from '../cgi/request-variables.ts';
import type { CgiHead } from '../cgi/response.ts';
import type { CgiOutput } from './cgi-output.ts';
import type { RuntimeRequest } from './runtimes/types.ts';
import type { RunAbort } from './run-abort.ts';

/**
 * The parts of one run that {@link RunRequest} is made of: its fields, but the environment's
 * views, which are made from `params` and `environmentOptions` when a runtime reads them.
 */
export type RunParts = Pick<RunRequest, 'scriptFilename' | 'scriptPath' | 'cwd' | 'stdout'
  | 'onStderrLine' | 'onSpawn'> & {
  readonly scriptFd: number | undefined;
  readonly scriptStats: Stats | undefined;
  readonly abort: RunAbort;
  readonly params: ParamSource;
  readonly environmentOptions: EnvironmentOptions;
  /** Where `stdin` is read from when a runtime reads it (the FastCGI request makes it then). */
  readonly input: { readonly stdin: Readable };
};

/** {@link RuntimeRequest} for one run (see there for each member). */
export class RunRequest implements RuntimeRequest {
  readonly scriptFilename: string;
  readonly scriptPath: Buffer;
  readonly scriptFd: number | undefined;
  readonly scriptStats: Stats | undefined;
  readonly cwd: string;
  readonly #input: { readonly stdin: Readable };
  readonly stdout: CgiOutput;
  readonly onStderrLine: (line: string) => void;
  readonly onSpawn: (pid: number) => void;
  #text: Record<string, string> | undefined;
  #environment: CgiEnvironment | undefined;
  #variables: ParamSource | undefined;
  readonly #params: ParamSource;
  readonly #environmentOptions: EnvironmentOptions;
  readonly #abort: RunAbort;

  constructor(parts: RunParts) {
    this.scriptFilename = parts.scriptFilename;
    this.scriptPath = parts.scriptPath;
    this.scriptFd = parts.scriptFd;
    this.scriptStats = parts.scriptStats;
    this.cwd = parts.cwd;
    this.#params = parts.params;
    this.#environmentOptions = parts.environmentOptions;
    this.#input = parts.input;
    this.stdout = parts.stdout;
    this.#abort = parts.abort;
    this.onStderrLine = parts.onStderrLine;
    this.onSpawn = parts.onSpawn;
  }

  /** {@inheritDoc RuntimeRequest.environment} Built on first read: the handler runtime never reads it. */
  get environment(): CgiEnvironment {
    this.#environment ??= buildEnvironment(this.#params, this.#environmentOptions);
    return this.#environment;
  }

  /** {@inheritDoc RuntimeRequest.requestVariables} */
  get requestVariables(): ParamSource {
    this.#variables ??= this.#environment === undefined
      ? requestVariables(this.#params, this.#environmentOptions)
      : environmentSource(this.#environment);
    return this.#variables;
  }

  /** The environment as text, decoded on first read: `exec` reads the bytes, `node` and `python` this. */
  get env(): Record<string, string> {
    // Without the environment of bytes in between when no runtime asked for it (`node`).
    this.#text ??= this.#environment === undefined
      ? buildTextEnvironment(this.#params, this.#environmentOptions)
      : textEnvironment(this.#environment);
    return this.#text;
  }

  /** {@inheritDoc RuntimeRequest.stdin} */
  get stdin(): Readable {
    return this.#input.stdin;
  }

  /** {@inheritDoc RuntimeRequest.signal} */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** {@inheritDoc RuntimeRequest.aborted} */
  get aborted(): boolean {
    return this.#abort.aborted;
  }

  /** {@inheritDoc RuntimeRequest.onAbort} */
  onAbort(listener: () => void): () => void {
    return this.#abort.onAbort(listener);
  }

  /** {@inheritDoc RuntimeRequest.respond} */
  respond(head: CgiHead): void {
    this.stdout.writeHead(head);
  }
}
