// This file implements the build steps after `tsc` from the perspective of the package that
// `npm pack` ships: the python runtime's runner files (stdlib Python, not compiled) copied
// beside the compiled runtime, and the man pages cgi-fpm(8) and cgi-fpm.toml(5) generated from
// the docs with marked-man. Run by `npm run build` (and so by `prepare` before `npm pack`).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marked } from 'marked';
import markedMan from 'marked-man';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The python runner and worker (runner.py, worker.py and their modules): everything but TypeScript, tests and caches. */
function copyPythonRunner() {
  cpSync(join(root, 'src/worker/runtimes/python'), join(root, 'dist/worker/runtimes/python'), {
    recursive: true,
    filter: (file) => !/(\.ts|_test\.py|__pycache__)$/.test(file),
  });
}

/**
 * The man pages: each source's first `# ` heading is replaced by the ronn-style title line
 * marked-man reads (`# name(section) -- description`). The date is SOURCE_DATE_EPOCH's when
 * set (reproducible builds), else now.
 */
const MAN_PAGES = [
  { source: 'docs/cgi-fpm.8.md', target: 'cgi-fpm.8', title: 'cgi-fpm(8) -- FastCGI process manager for CGI scripts' },
  { source: 'docs/config.md', target: 'cgi-fpm.toml.5', title: 'cgi-fpm.toml(5) -- configuration file of cgi-fpm(8)' },
];

function buildManPages() {
  const out = join(root, 'dist/man');
  mkdirSync(out, { recursive: true });
  for (const page of MAN_PAGES) {
    const text = readFileSync(join(root, page.source), 'utf8').replace(/^# .*\n/, `# ${page.title}\n`);
    const marked = new Marked(markedMan);
    const roff = marked.parse(text, { breaks: false, manVersion: `cgi-fpm ${pkg.version}`, manual: 'cgi-fpm manual' });
    writeFileSync(join(out, page.target), roff);
  }
}

copyPythonRunner();
buildManPages();
