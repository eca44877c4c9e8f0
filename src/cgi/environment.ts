// This file implements the RFC 3875 meta-variables a CGI script sees, from the perspective of
// the gateway that turns one FastCGI request (the params nginx or Apache mod_proxy_fcgi sent)
// into the environment of one script run. A request's values stay the bytes the web server sent
// (execve takes bytes); the daemon's and the pool's are text. Pure: the daemon's own
// environment is passed in.

/**
 * One variable's value: text (a JS string, UTF-8 once it leaves the process) or bytes exactly
 * as a web server sent them (a `QUERY_STRING` or header need not be UTF-8).
 */
export type EnvValue = string | Buffer;

/** A CGI environment: a null-prototype object, name to value (see {@link buildEnvironment}). */
export type CgiEnvironment = Record<string, EnvValue>;

/**
 * The params as {@link buildEnvironment} reads them: the request's `NameValuePairs` (bytes, in
 * stream order, a later duplicate winning) or a `Map` of text.
 */
export interface ParamSource {
  get(name: string): EnvValue | undefined;
  forEach(visit: (value: EnvValue, name: string) => void): void;
  /**
   * `forEach` limited to the names that begin with `prefix` (ASCII, e.g. `HTTP_`), for a caller
   * that reads one family: a source that can skips the other names without decoding them.
   * Absent: the caller filters `forEach`.
   */
  forEachNamed?(prefix: string, visit: (value: EnvValue, name: string) => void): void;
}

/**
 * Visits the names of `source` that begin with `prefix`, in its order: through its own
 * `forEachNamed` when it has one, else its `forEach` filtered.
 * @see ParamSource.forEachNamed
 */
export function forEachNamed(source: ParamSource, prefix: string, visit: (value: EnvValue, name: string) => void): void {
  if (source.forEachNamed !== undefined) source.forEachNamed(prefix, visit);
  else source.forEach((value, name) => { if (name.startsWith(prefix)) visit(value, name); });
}

/** The name of the CGI revision cgi-fpm speaks. @see RFC 3875 §4.1.4 */
export const GATEWAY_INTERFACE = 'CGI/1.1';

/**
 * Names never exported to a script, whatever their source. `HTTP_PROXY` is what RFC 3875
 * §4.1.18 makes of a client's `Proxy:` header, and many HTTP clients read it as their proxy
 * ("httpoxy", CVE-2016-5385). Operators who need a proxy set lowercase `http_proxy` instead.
 */
export const NEVER_EXPORTED: ReadonlySet<string> = new Set(['HTTP_PROXY']);

/**
 * Meta-variables the server sets "if and only if" a body is attached; nginx's
 * `fastcgi_params` sends them empty on a GET, which breaks `int(os.environ['CONTENT_LENGTH'])`.
 * @see RFC 3875 §4.1.2 (CONTENT_LENGTH), §4.1.3 (CONTENT_TYPE)
 */
export const UNSET_WHEN_EMPTY: ReadonlySet<string> = new Set(['CONTENT_LENGTH', 'CONTENT_TYPE']);

/**
 * The request meta-variables RFC 3875 defines. With `HTTP_*` (§4.1.18) these describe the
 * request, so the request's value wins over a pool's `env`.
 * @see RFC 3875 §4.1
 */
const META_VARIABLES: ReadonlySet<string> = new Set([
  'AUTH_TYPE',
  'CONTENT_LENGTH',
  'CONTENT_TYPE',
  'GATEWAY_INTERFACE',
  'PATH_INFO',
  'PATH_TRANSLATED',
  'QUERY_STRING',
  'REMOTE_ADDR',
  'REMOTE_HOST',
  'REMOTE_IDENT',
  'REMOTE_USER',
  'REQUEST_METHOD',
  'SCRIPT_NAME',
  'SERVER_NAME',
  'SERVER_PORT',
  'SERVER_PROTOCOL',
  'SERVER_SOFTWARE',
]);

/** What {@link buildEnvironment} needs besides the request's params. */
export interface EnvironmentOptions {
  /**
   * The pool's `env`: overrides `inherited` and the request's other params (Apache's `PATH`),
   * never the request's meta-variables (RFC 3875 §4.1 names and `HTTP_*`).
   * @see PHP-FPM `env[NAME]`
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * When true the script sees only the CGI variables and `env`; when false `inherited` too.
   * @see PHP-FPM `clear_env`
   */
  readonly clearEnv: boolean;
  /** The daemon's environment (the caller passes `process.env`); used when `clearEnv` is false. */
  readonly inherited: Readonly<Record<string, string | undefined>>;
  /** `SERVER_SOFTWARE`, e.g. `cgi-fpm/0.1.0`. @see RFC 3875 §4.1.17 */
  readonly serverSoftware: string;
  /** The resolved script path (from `resolveScript`), exported as `SCRIPT_FILENAME`. */
  readonly scriptFilename: EnvValue;
  /**
   * The resolved `PATH_INFO` (from `resolveScript`). When given it replaces the param; when
   * given empty, `PATH_INFO` is unset (§4.1.5: no path-info). When absent the param is kept.
   * @see RFC 3875 §4.1.5
   */
  readonly pathInfo?: EnvValue;
}

/**
 * Builds the complete environment of one CGI script run.
 *
 * Every param the web server sent is kept. Precedence, lowest first: `inherited` (only when
 * `clearEnv` is false); params that are not meta-variables (Apache sends its own `PATH`,
 * nginx any `fastcgi_param`); the pool's `env`; the request's meta-variables (RFC 3875 §4.1
 * names and `HTTP_*`: they describe this request, so they win as request params win over
 * `env[]` in PHP-FPM); then the variables the gateway owns: `GATEWAY_INTERFACE`,
 * `SERVER_SOFTWARE`, `SCRIPT_FILENAME` and `PATH_INFO`.
 *
 * Dropped: `HTTP_PROXY` from every source; an empty `CONTENT_LENGTH`/`CONTENT_TYPE`; names
 * that cannot live in an environment (empty, containing `=` or NUL), params whose name is not
 * US-ASCII (meta-variable names are tokens, §4.1), and values containing NUL. When the script path was split off `SCRIPT_FILENAME` (the web server sent no
 * `PATH_INFO`), `SCRIPT_NAME` loses the same trailing path-info, as PHP's `cgi.fix_pathinfo`
 * does.
 *
 * @param params - the FastCGI params of the request (names and values as sent).
 * @param options - pool settings and the resolved script.
 * @returns a fresh null-prototype object; request values are the bytes sent (`Buffer`) when
 *   `params` holds bytes.
 * @see RFC 3875 §4.1 (request meta-variables), §4.1.18 (protocol-specific variables)
 */
export function buildEnvironment(params: ParamSource, options: EnvironmentOptions): CgiEnvironment {
  // A null prototype: a param named `__proto__` stays a plain variable.
  const env = Object.create(null) as CgiEnvironment;
  for (const [name, value] of environmentVariables(params, options)) env[name] = value;
  return env;
}

/**
 * `textEnvironment(buildEnvironment(params, options))` in one step, without the environment of
 * bytes in between: for the runtimes that read only the text (`node`'s `process.env`).
 * @returns a fresh null-prototype object; bytes decoded as UTF-8 (U+FFFD for a byte that is not)
 * @see buildEnvironment, textEnvironment
 */
export function buildTextEnvironment(params: ParamSource, options: EnvironmentOptions): Record<string, string> {
  const text = Object.create(null) as Record<string, string>;
  for (const [name, value] of environmentVariables(params, options)) {
    text[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return text;
}

/** The variables of {@link buildEnvironment}, in its order and with its precedence. */
function environmentVariables(params: ParamSource, options: EnvironmentOptions): Map<string, EnvValue> {
  const vars = new Map<string, EnvValue>();
  if (!options.clearEnv) {
    for (const [name, value] of Object.entries(options.inherited)) {
      if (value !== undefined) put(vars, name, value);
    }
  }
  // One pass over the params: the request's meta-variables wait until the pool's env is in.
  const meta: [string, EnvValue][] = [];
  params.forEach((value, name) => {
    if (!isAscii(name)) return;
    if (isMetaVariable(name)) meta.push([name, value]);
    else put(vars, name, value);
  });
  for (const [name, value] of Object.entries(options.env)) put(vars, name, value);
  for (const [name, value] of meta) {
    if (value.length === 0 && UNSET_WHEN_EMPTY.has(name)) vars.delete(name);
    else put(vars, name, value);
  }
  vars.set('GATEWAY_INTERFACE', GATEWAY_INTERFACE);
  vars.set('SERVER_SOFTWARE', options.serverSoftware);
  vars.set('SCRIPT_FILENAME', options.scriptFilename);
  if (options.pathInfo !== undefined) applyPathInfo(vars, params.get('PATH_INFO') ?? '', options.pathInfo);
  return vars;
}

/** Sets one variable unless its name is never exported or cannot be represented. */
function put(vars: Map<string, EnvValue>, name: string, value: EnvValue): void {
  if (NEVER_EXPORTED.has(name) || !isEnvName(name) || hasNul(value)) return;
  vars.set(name, value);
}

/** True when a value holds a NUL byte (it cannot be an environment string). */
export function hasNul(value: EnvValue): boolean {
  return typeof value === 'string' ? value.includes('\0') : value.includes(0);
}

/** True for a name of US-ASCII characters only. */
export function isAscii(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** True for the names that describe the request itself (RFC 3875 §4.1, §4.1.18). */
function isMetaVariable(name: string): boolean {
  return META_VARIABLES.has(name) || name.startsWith('HTTP_');
}

/** True for a name `execve` can carry: non-empty, no `=`, no NUL. */
export function isEnvName(name: string): boolean {
  return name !== '' && !name.includes('=') && !name.includes('\0');
}

/**
 * Sets `PATH_INFO` to the resolved value and, when the gateway split it off `SCRIPT_FILENAME`
 * itself, trims it off `SCRIPT_NAME` too (`/cgi/hello.py/a/b` -> `/cgi/hello.py`).
 * @see RFC 3875 §4.1.5 (PATH_INFO), §4.1.13 (SCRIPT_NAME)
 */
function applyPathInfo(vars: Map<string, EnvValue>, sentPathInfo: EnvValue, pathInfo: EnvValue): void {
  if (pathInfo.length === 0) {
    vars.delete('PATH_INFO');
    return;
  }
  vars.set('PATH_INFO', pathInfo);
  const scriptName = splitScriptName(vars.get('SCRIPT_NAME'), sentPathInfo, pathInfo);
  if (scriptName !== undefined) vars.set('SCRIPT_NAME', scriptName);
}

/**
 * `SCRIPT_NAME` without the path-info the gateway split off `SCRIPT_FILENAME` itself (the web
 * server sent no `PATH_INFO`, as Apache's `ProxyPassMatch` to `…/$1` does), as PHP's
 * `cgi.fix_pathinfo` does: `/cgi/hello.py/a/b` with path-info `/a/b` -> `/cgi/hello.py`.
 * @param scriptName - `SCRIPT_NAME` as sent, if any.
 * @param sentPathInfo - `PATH_INFO` as sent (empty when absent).
 * @param pathInfo - the resolved path-info.
 * @returns the trimmed `SCRIPT_NAME` (bytes when either side is bytes), or `undefined` when it
 *   stays as sent.
 * @see RFC 3875 §4.1.13 (SCRIPT_NAME)
 */
export function splitScriptName(scriptName: Buffer | undefined, sentPathInfo: EnvValue, pathInfo: Buffer): Buffer | undefined;
export function splitScriptName(scriptName: EnvValue | undefined, sentPathInfo: EnvValue, pathInfo: EnvValue): EnvValue | undefined;
export function splitScriptName(scriptName: EnvValue | undefined, sentPathInfo: EnvValue, pathInfo: EnvValue): EnvValue | undefined {
  if (sentPathInfo.length !== 0 || pathInfo.length === 0 || scriptName === undefined) return undefined;
  if (typeof scriptName === 'string' && typeof pathInfo === 'string') {
    if (scriptName.length <= pathInfo.length || !scriptName.endsWith(pathInfo)) return undefined;
    return scriptName.slice(0, -pathInfo.length);
  }
  const name = typeof scriptName === 'string' ? Buffer.from(scriptName) : scriptName;
  const info = typeof pathInfo === 'string' ? Buffer.from(pathInfo) : pathInfo;
  const cut = name.length - info.length;
  if (cut <= 0 || name.compare(info, 0, info.length, cut) !== 0) return undefined;
  return name.subarray(0, cut);
}

/**
 * The environment as text, for runtimes whose API takes strings (`process.env`, a JSON
 * frame): bytes decoded as UTF-8, a byte that is not UTF-8 becoming U+FFFD. A null-prototype
 * object.
 */
export function textEnvironment(env: CgiEnvironment): Record<string, string> {
  const text = Object.create(null) as Record<string, string>;
  for (const name in env) {
    const value = env[name];
    if (value !== undefined) text[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return text;
}
