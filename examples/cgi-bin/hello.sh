#!/bin/sh
# Hello from the shell: CGI is just environment variables in and text out.
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
printf 'Hello from sh!\n'
printf 'REQUEST_METHOD=%s\n' "$REQUEST_METHOD"
printf 'QUERY_STRING=%s\n' "$QUERY_STRING"
printf 'PATH_INFO=%s\n' "$PATH_INFO"
