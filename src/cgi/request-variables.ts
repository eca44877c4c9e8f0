// This file implements the request's CGI variables read one by one, from the perspective of a
// runtime that reads a few of them (the handler rebuilds the HTTP request from them): the names
// and values `buildEnvironment` would give (environment.ts), without building the environment.
import {
  buildEnvironment, forEachNamed, GATEWAY_INTERFACE, hasNul, isAscii, isEnvName, NEVER_EXPORTED, splitScriptName, UNSET_WHEN_EMPTY,
  type CgiEnvironment, type EnvironmentOptions, type EnvValue, type ParamSource,
} from './environment.ts';

/**
 * The request's variables as {@link buildEnvironment} gives them, without copying them into a
 * new environment: for a runtime that reads a few (the handler rebuilds the HTTP request). With
 * a pool `env` or `clearEnv` false, the environment is built and read.
 * @param params - the FastCGI params; @param options - as for {@link buildEnvironment}.
 * @returns the names and values of `buildEnvironment(params, options)` (`forEach`: one visit
 *   per name; without a pool `env`, in the params' order).
 */
export function requestVariables(params: ParamSource, options: EnvironmentOptions): ParamSource {
  if (!options.clearEnv || Object.keys(options.env).length > 0) return environmentSource(buildEnvironment(params, options));
  return new RequestVariables(params, options);
}

/** A built environment read as a {@link ParamSource}. */
export function environmentSource(env: CgiEnvironment): ParamSource {
  return { get: (name) => env[name], forEach: (visit) => { Object.entries(env).forEach(([name, value]) => { visit(value, name); }); } };
}

const GATEWAY_NAMES = ['GATEWAY_INTERFACE', 'SERVER_SOFTWARE', 'SCRIPT_FILENAME', 'PATH_INFO'];

/**
 * {@link requestVariables} without a pool `env` or inherited variables: the params, filtered,
 * read where they are (no copy: a name is looked up in the params, a later duplicate winning).
 */
class RequestVariables implements ParamSource {
  readonly #params: ParamSource;
  readonly #options: EnvironmentOptions;

  constructor(params: ParamSource, options: EnvironmentOptions) {
    this.#params = params;
    this.#options = options;
  }

  get(name: string): EnvValue | undefined {
    const { pathInfo } = this.#options;
    switch (name) {
      case 'GATEWAY_INTERFACE':
        return GATEWAY_INTERFACE;
      case 'SERVER_SOFTWARE':
        return this.#options.serverSoftware;
      case 'SCRIPT_FILENAME':
        return this.#options.scriptFilename;
      case 'PATH_INFO':
        if (pathInfo !== undefined) return pathInfo.length === 0 ? undefined : pathInfo;
        break;
      case 'SCRIPT_NAME':
        if (pathInfo !== undefined) {
          const sent = this.#sent(name);
          const split = splitScriptName(sent, this.#params.get('PATH_INFO') ?? '', pathInfo);
          return split ?? sent;
        }
        break;
    }
    return this.#sent(name);
  }

  forEach(visit: (value: EnvValue, name: string) => void): void {
    this.#visit('', visit);
  }

  forEachNamed(prefix: string, visit: (value: EnvValue, name: string) => void): void {
    this.#visit(prefix, visit);
  }

  /** Each name beginning with `prefix` once, where it first came, with its value as `get` gives it. */
  #visit(prefix: string, visit: (value: EnvValue, name: string) => void): void {
    const seen = new Set<string>();
    const each = (_value: EnvValue, name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      const value = this.get(name);
      if (value !== undefined) visit(value, name);
    };
    forEachNamed(this.#params, prefix, each);
    for (const name of GATEWAY_NAMES) {
      if (!name.startsWith(prefix) || seen.has(name)) continue;
      const value = this.get(name);
      if (value !== undefined) visit(value, name);
    }
  }

  /** A param as the environment has it: dropped when never exported, unrepresentable or unset when empty. */
  #sent(name: string): EnvValue | undefined {
    if (NEVER_EXPORTED.has(name) || !isEnvName(name) || !isAscii(name)) return undefined;
    const value = this.#params.get(name);
    if (value === undefined || hasNul(value)) return undefined;
    if (value.length === 0 && UNSET_WHEN_EMPTY.has(name)) return undefined;
    return value;
  }
}
