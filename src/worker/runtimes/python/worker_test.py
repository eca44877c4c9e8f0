"""Unit tests of the python worker's pure parts: FastCGI records and name-value pairs, the
responder role, the CGI head, the environment, the `#!` line, the runner frames (the
checked script file, inherited descriptors and control lines: worker_checks_test.py). Run by
python-worker-units.test.ts (`python3 -m unittest worker_test worker_checks_test` here); not shipped (the build skips *_test.py).
"""

import os
import tempfile
import unittest

from _cgi_fpm_environ import EnvironmentBuilder
from _cgi_fpm_fcgi import (
    FCGI_BEGIN_REQUEST,
    FCGI_PARAMS,
    FCGI_STDIN,
    FCGI_STDOUT,
    ProtocolError,
    RecordParser,
    decode_pairs,
    encode_pairs,
    end_request,
    stream,
    stream_end,
)
from _cgi_fpm_head import CgiError, HeadParser, encode_head, error_page
from _cgi_fpm_responder import Responder
from _cgi_fpm_frames import FrameParser, Lines, frame
from _cgi_fpm_shebang import NotFound, ScriptInterpreters, parse_shebang, resolve_shebang


def joined(buffers):
    return b"".join(bytes(b) for b in buffers)


class Records(unittest.TestCase):
    def test_a_record_is_header_content_padding(self):
        self.assertEqual(
            joined(stream(FCGI_STDOUT, 1, b"hello")),
            bytes([1, 6, 0, 1, 0, 5, 3, 0]) + b"hello" + b"\0\0\0",
        )
        self.assertEqual(stream_end(FCGI_STDOUT, 258), bytes([1, 6, 1, 2, 0, 0, 0, 0]))
        self.assertEqual(end_request(1, 0, 0), bytes([1, 3, 0, 1, 0, 8, 0, 0]) + b"\0" * 8)

    def test_66000_bytes_go_out_as_aligned_records_and_parse_back_split_anywhere(self):
        data = bytes(range(256)) * 257 + b"x" * 208  # 66000 bytes
        wire = joined(stream(FCGI_STDOUT, 7, data))
        self.assertEqual(wire[4:6], (65528).to_bytes(2, "big"))
        parser, got = RecordParser(), []
        for start in range(0, len(wire), 4099):
            got += parser.feed(wire[start : start + 4099])
        self.assertEqual([(k, i) for k, i, _ in got], [(FCGI_STDOUT, 7)] * 2)
        self.assertEqual(b"".join(c for _, _, c in got), data)
        self.assertEqual(parser.buffered, 0)

    def test_a_bad_version_is_a_protocol_error(self):
        with self.assertRaises(ProtocolError):
            RecordParser().feed(bytes([2, 1, 0, 1, 0, 0, 0, 0]))

    def test_pairs_with_long_names_and_values_round_trip(self):
        pairs = [(b"A", b""), (b"N" * 200, b"v" * 70000), (b"SCRIPT_FILENAME", b"/x\xff")]
        body = encode_pairs(pairs)
        self.assertEqual(body[:3], b"\x01\x00A")
        self.assertEqual(decode_pairs(body), pairs)
        with self.assertRaises(ProtocolError):
            decode_pairs(body[:-1])


class Events:
    def __init__(self):
        self.log = []

    def begin(self, request_id, keep_conn):
        self.log.append(("begin", request_id, keep_conn))
        return request_id

    def params(self, request, pairs):
        self.log.append(("params", request, pairs))

    def stdin(self, request, content):
        self.log.append(("stdin", request, content))

    def abort(self, request):
        self.log.append(("abort", request))

    def reply(self, data):
        self.log.append(("reply", data))

    def close(self):
        self.log.append(("close",))


def begin(request_id, role=1, flags=1):
    return joined(stream(FCGI_BEGIN_REQUEST, request_id, bytes([0, role, flags, 0, 0, 0, 0, 0])))


class ResponderRole(unittest.TestCase):
    def test_a_request_begins_gets_its_params_then_its_body(self):
        events = Events()
        responder = Responder(events, {"FCGI_MAX_CONNS": "1"})
        wire = begin(1) + joined(stream(FCGI_PARAMS, 1, encode_pairs([(b"A", b"1")])))
        wire += stream_end(FCGI_PARAMS, 1) + joined(stream(FCGI_STDIN, 1, b"body")) + stream_end(FCGI_STDIN, 1)
        for byte in range(len(wire)):  # one byte at a time
            responder.push(wire[byte : byte + 1])
        self.assertEqual(
            events.log,
            [("begin", 1, True), ("params", 1, [(b"A", b"1")]), ("stdin", 1, b"body"), ("stdin", 1, b"")],
        )

    def test_a_second_request_is_refused_cant_mpx_and_unknown_ids_are_ignored(self):
        events = Events()
        responder = Responder(events, {})
        responder.push(begin(1) + begin(2) + joined(stream(FCGI_STDIN, 9, b"x")))
        self.assertEqual(events.log[1], ("reply", end_request(2, 0, 1)))
        self.assertEqual(len(events.log), 2)

    def test_other_roles_are_unknown_and_unknown_types_answered(self):
        events = Events()
        responder = Responder(events, {})
        responder.push(begin(1, role=2) + bytes([1, 99, 0, 1, 0, 0, 0, 0]) + bytes([1, 99, 0, 0, 0, 0, 0, 0]))
        self.assertEqual(events.log[0], ("reply", end_request(1, 0, 3)))
        self.assertEqual(events.log[1], ("reply", bytes([1, 11, 0, 0, 0, 8, 0, 0, 99]) + b"\0" * 7))

    def test_an_abort_before_the_params_ended_is_answered_by_the_role(self):
        events = Events()
        responder = Responder(events, {})
        responder.push(begin(1) + bytes([1, 2, 0, 1, 0, 0, 0, 0]))
        self.assertEqual(events.log[-1], ("reply", end_request(1, 0, 0)))
        self.assertTrue(responder.idle)

    def test_without_keep_conn_the_connection_closes_after_the_request(self):
        events = Events()
        responder = Responder(events, {})
        responder.push(begin(1, flags=0))
        responder.end(1)
        self.assertEqual(events.log[-1], ("close",))


class CgiHead(unittest.TestCase):
    def test_status_and_fields_in_chunks_split_anywhere(self):
        parser = HeadParser()
        self.assertIsNone(parser.push(b"Status: 404 Gone\r\nContent-Type: te"))
        head = parser.push(b"xt/plain\r\n\r\nbody")
        self.assertEqual((head.status, head.reason, head.headers), (404, "Gone", [("Content-Type", "text/plain")]))
        self.assertEqual(parser.rest, b"body")
        self.assertEqual(encode_head(head), b"Status: 404 Gone\r\nContent-Type: text/plain\r\n\r\n")

    def test_redirects(self):
        remote = HeadParser().push(b"Location: https://example.org/\n\n")
        self.assertEqual(remote.status, 302)
        local = HeadParser().push(b"Location: /elsewhere\n\n")
        self.assertEqual(encode_head(local), b"Location: /elsewhere\r\n\r\n")

    def test_bad_heads(self):
        for text in (b"no colon here\n\n", b"Status: 99 Low\n\n", b"Status: 200\nStatus: 200\n\n"):
            with self.assertRaises(CgiError) as caught:
                HeadParser().push(text)
            self.assertEqual(caught.exception.code, "ERR_CGI_BAD_HEADERS")
        with self.assertRaises(CgiError) as caught:
            HeadParser(max_bytes=10).push(b"X: 12345678901\n")
        self.assertEqual(caught.exception.code, "ERR_CGI_NO_HEADERS")

    def test_error_page(self):
        page = error_page(504)
        self.assertTrue(page.startswith(b"Status: 504 Gateway Timeout\r\nContent-Type: text/html\r\n"))


class Environment(unittest.TestCase):
    def test_precedence_and_drops(self):
        builder = EnvironmentBuilder({"PATH": "/pool", "TZ": "UTC"}, False, {b"PATH": b"/worker", b"HOME": b"/h"}, "cgi-fpm/1")
        env = builder.build(
            [(b"PATH", b"/apache"), (b"TZ", b"x"), (b"HTTP_PROXY", b"evil"), (b"CONTENT_LENGTH", b""),
             (b"QUERY_STRING", b"a=\xff"), (b"HTTP_X", b"1"), (b"N\xc3\xa9", b"1")],
            b"/s.py",
        )
        self.assertEqual(env[b"PATH"], b"/pool")
        self.assertEqual(env[b"TZ"], b"UTC")
        self.assertEqual(env[b"HOME"], b"/h")
        self.assertEqual(env[b"QUERY_STRING"], b"a=\xff")
        self.assertEqual(env[b"HTTP_X"], b"1")
        self.assertEqual(env[b"GATEWAY_INTERFACE"], b"CGI/1.1")
        self.assertEqual(env[b"SERVER_SOFTWARE"], b"cgi-fpm/1")
        for dropped in (b"HTTP_PROXY", b"CONTENT_LENGTH", b"N\xc3\xa9"):
            self.assertNotIn(dropped, env)
        cleared = EnvironmentBuilder({}, True, {b"HOME": b"/h"}, "s").build([], b"/s.py")
        self.assertNotIn(b"HOME", cleared)


class Shebang(unittest.TestCase):
    def test_lines(self):
        self.assertEqual(parse_shebang(b"#!/usr/bin/python3 -u\nx"), (b"/usr/bin/python3", b"-u"))
        self.assertEqual(parse_shebang(b"#! /usr/bin/env  python3 -S -x \r\n"), (b"/usr/bin/env", b"python3 -S -x"))
        self.assertIsNone(parse_shebang(b"import os\n"))

    def test_resolution(self):
        self.assertEqual(resolve_shebang((b"/usr/bin/python3.11", b"-u"), b"/", None), (b"/usr/bin/python3.11", [b"-u"]))
        self.assertIsNone(resolve_shebang((b"/bin/sh", None), b"/", None))
        self.assertIsNone(resolve_shebang(None, b"/", None))
        with tempfile.TemporaryDirectory() as tmp:
            python = os.path.join(tmp.encode(), b"python3")
            with open(python, "w") as handle:
                handle.write("")
            os.chmod(python, 0o755)
            self.assertEqual(resolve_shebang((b"/usr/bin/env", b"-S python3 -I"), b"/", tmp.encode()), (python, [b"-I"]))
            with self.assertRaises(NotFound):
                resolve_shebang((b"/usr/bin/env", b"python3"), b"/", b"/nonexistent")


class RunnerFrames(unittest.TestCase):
    def test_streamed_frames_are_handed_on_in_pieces_and_control_frames_whole(self):
        got = []
        parser = FrameParser(lambda kind, piece: got.append((kind, piece)), lambda kind, p: got.append((kind, p)))
        wire = joined(frame(b"O", b"abcdef")) + joined(frame(b"D", b'{"exit":0}'))
        for start in range(0, len(wire), 3):
            parser.push(wire[start : start + 3])
        self.assertEqual(b"".join(p for k, p in got if k == 0x4F), b"abcdef")
        self.assertEqual(got[-1], (0x44, b'{"exit":0}'))

    def test_lines_are_split_and_bounded(self):
        lines = []
        splitter = Lines(lines.append)
        splitter.push(b"one\r\ntw")
        splitter.push(b"o\n" + b"x" * 9000)
        splitter.end()
        self.assertEqual(lines, ["one", "two", "x" * 8192, "x" * 808])


if __name__ == "__main__":
    unittest.main()
