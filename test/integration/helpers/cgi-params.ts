// This file implements CGI request params from the perspective of a raw FastCGI client that
// stands in for nginx: the same names nginx's fastcgi_params and our site send.

/**
 * Params for `GET`/`POST` of `scriptName` under `root`, as nginx would send them, with
 * `overrides` applied last (a value of `undefined` removes a param).
 *
 * @param root - the document root (nginx's `$document_root`)
 * @param scriptName - the URI path of the script, starting with `/`
 */
export function nginxLikeParams(
  root: string,
  scriptName: string,
  overrides: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const params: Record<string, string | undefined> = {
    QUERY_STRING: '',
    REQUEST_METHOD: 'GET',
    CONTENT_TYPE: '',
    CONTENT_LENGTH: '',
    SCRIPT_NAME: scriptName,
    REQUEST_URI: scriptName,
    DOCUMENT_URI: scriptName,
    DOCUMENT_ROOT: root,
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'nginx/1.22.1',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '40000',
    SERVER_ADDR: '127.0.0.1',
    SERVER_PORT: '80',
    SERVER_NAME: 'localhost',
    HTTP_HOST: 'localhost',
    SCRIPT_FILENAME: `${root}${scriptName}`,
    PATH_INFO: '',
    ...overrides,
  };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) if (value !== undefined) out[name] = value;
  return out;
}
