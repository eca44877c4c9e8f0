#!/usr/bin/env python3
# Hello from Python: an ordinary CGI script (RFC 3875). It prints a header block, a blank line,
# then the body; cgi-fpm runs it unmodified behind nginx.
import html
import os
from urllib.parse import parse_qs

params = parse_qs(os.environ.get("QUERY_STRING", ""))
name = params.get("name", ["world"])[0]

print("Content-Type: text/html; charset=utf-8")
print()
print("<!doctype html><title>hello.py</title>")
print(f"<h1>Hello, {html.escape(name)}!</h1>")
print(f"<p>Python says hi via {html.escape(os.environ.get('GATEWAY_INTERFACE', '?'))}, "
      f"served by {html.escape(os.environ.get('SERVER_SOFTWARE', '?'))}.</p>")
