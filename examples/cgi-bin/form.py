#!/usr/bin/env python3
# A form in Python without the `cgi` module (removed in Python 3.13): GET shows the form, POST
# reads exactly CONTENT_LENGTH bytes from stdin and parses them with urllib.parse.
import html
import os
import sys
from urllib.parse import parse_qs

method = os.environ.get("REQUEST_METHOD", "GET")
print("Content-Type: text/html; charset=utf-8")
print()
print("<!doctype html><title>form.py</title><h1>Python form</h1>")
if method == "POST":
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8"), keep_blank_values=True)
    name = fields.get("name", [""])[0]
    message = fields.get("message", [""])[0]
    print(f"<p>Thanks, {html.escape(name)}. You wrote: {html.escape(message)}</p>")
print("""<form method="post">
  <label>Name <input name="name"></label>
  <label>Message <input name="message"></label>
  <button>Send</button>
</form>""")
