#!/usr/bin/env node
// Hello from Node.js: an ordinary CGI script, run as its own process by the exec runtime.
'use strict';
const name = new URLSearchParams(process.env.QUERY_STRING ?? '').get('name') ?? 'world';
const escape = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
process.stdout.write('Content-Type: text/html; charset=utf-8\r\n\r\n');
process.stdout.write(`<!doctype html><title>hello.js</title><h1>Hello, ${escape(name)}!</h1>\n`);
process.stdout.write(`<p>Node ${process.version} says hi.</p>\n`);
