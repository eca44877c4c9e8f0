// This file implements the Apache sites of the issue-5 suites from the perspective of the
// operator writing them: the pools' directories (see apache-pools.ts) under one document root,
// reached through mod_proxy_fcgi in every way Apache offers, or through mod_fcgid wrappers.
import { APACHE_POOLS, type ApachePool } from './apache-pools.ts';
import { CLI_MAIN } from './paths.ts';
import { SCRIPT_PATH } from './stack.ts';

/** The script extensions each pool's directory hands to cgi-fpm (an Apache regex group). */
const EXTENSIONS: Readonly<Record<ApachePool, string>> = { exec: 'py|pl|js', python: 'py', node: 'js' };

function documentRoot(docRoot: string): string {
  return `DocumentRoot ${docRoot}
<Directory ${docRoot}>
    Require all granted
</Directory>
`;
}

/**
 * mod_proxy_fcgi in front of the daemon: `SetHandler "proxy:unix:SOCKET|fcgi://localhost"` in
 * each pool's directory (`/POOL/script`), and `ProxyPassMatch` to `…|fcgi://localhost/ROOT/$1`
 * under `/pp/POOL/` (no path-info), `/ppi/POOL/` (Apache splits PATH_INFO walking the file
 * system: proxy-fcgi-pathinfo=full), `/ppd/POOL/` (first-dot: PATH_INFO sent and also left in
 * SCRIPT_FILENAME) and `/pps/POOL/` (no PATH_INFO sent: cgi-fpm splits SCRIPT_FILENAME).
 */
export function proxyFcgiSite(
  docRoot: string,
  roots: Record<ApachePool, string>,
  sockets: Record<ApachePool, string>,
): string {
  const perPool = APACHE_POOLS.map((pool) => {
    const ext = EXTENSIONS[pool];
    const target = `"unix:${sockets[pool]}|fcgi://localhost${roots[pool]}/$1"`;
    return `
<Directory ${roots[pool]}>
    <FilesMatch "\\.(${ext})$">
        SetHandler "proxy:unix:${sockets[pool]}|fcgi://localhost"
    </FilesMatch>
</Directory>
ProxyPassMatch "^/pp/${pool}/([^/]+\\.(?:${ext}))$" ${target}
ProxyPassMatch "^/ppi/${pool}/([^/]+\\.(?:${ext})(?:/.*)?)$" ${target}
ProxyPassMatch "^/ppd/${pool}/([^/]+\\.(?:${ext})(?:/.*)?)$" ${target}
ProxyPassMatch "^/pps/${pool}/([^/]+\\.(?:${ext})(?:/.*)?)$" ${target}
`;
  });
  return `${documentRoot(docRoot)}<LocationMatch "^/ppi/">
    SetEnvIf Request_URI . proxy-fcgi-pathinfo=full
</LocationMatch>
<LocationMatch "^/ppd/">
    SetEnvIf Request_URI . proxy-fcgi-pathinfo=first-dot
</LocationMatch>
${perPool.join('')}`;
}

/**
 * mod_fcgid spawning the built `cgi-fpm worker --pool POOL -c CONFIG`: each pool directory's
 * scripts are `fcgid-script`s run through that pool's `FcgidWrapper … virtual` (mod_fcgid
 * spawns the wrapper, not the script; one process class per wrapper, at most one process each,
 * so the state a request leaves is seen by the next one).
 */
export function fcgidSite(docRoot: string, roots: Record<ApachePool, string>, configFile: string): string {
  const perPool = APACHE_POOLS.map(
    (pool) => `
<Directory ${roots[pool]}>
    Options +ExecCGI
    <FilesMatch "\\.(${EXTENSIONS[pool]})$">
        SetHandler fcgid-script
    </FilesMatch>
    FcgidWrapper "${process.execPath} ${CLI_MAIN} worker --pool ${pool} -c ${configFile}" virtual
</Directory>
`,
  );
  return `${documentRoot(docRoot)}FcgidMaxProcessesPerClass 1
FcgidMinProcessesPerClass 0
FcgidIOTimeout 60
FcgidInitialEnv PATH ${SCRIPT_PATH}
${perPool.join('')}`;
}
