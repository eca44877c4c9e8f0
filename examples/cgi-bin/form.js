#!/usr/bin/env node
// A form in Node.js: GET shows the form, POST reads the urlencoded body from stdin and parses
// it with URLSearchParams.
'use strict';
const escape = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const form = `<form method="post">
  <label>Name <input name="name"></label>
  <label>Message <input name="message"></label>
  <button>Send</button>
</form>
`;

function answer(body) {
  let out = '<!doctype html><title>form.js</title><h1>Node form</h1>\n';
  if (body !== undefined) {
    const fields = new URLSearchParams(body);
    out += `<p>Thanks, ${escape(fields.get('name') ?? '')}. You wrote: ${escape(fields.get('message') ?? '')}</p>\n`;
  }
  process.stdout.write('Content-Type: text/html; charset=utf-8\r\n\r\n' + out + form);
}

if (process.env.REQUEST_METHOD === 'POST') {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => answer(Buffer.concat(chunks).toString('utf8')));
} else {
  answer(undefined);
}
