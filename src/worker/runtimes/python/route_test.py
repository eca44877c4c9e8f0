"""Unit tests of the python worker's script resolution (_cgi_fpm_route), on the case table it
shares with src/cgi/script.ts and script-cache.ts (src/cgi/script-cases.json), a real file
system, and picomatch's verdicts on a table of globs. Run by route-units.test.ts, which passes
picomatch's expressions (script-globs.ts) in the file named by CGI_FPM_SCRIPT_GLOBS; not
shipped (the build skips *_test.py).
"""

import errno
import json
import os
import shutil
import tempfile
import unittest
from urllib.parse import unquote_to_bytes

import _cgi_fpm_route
from _cgi_fpm_route import Router, compile_globs

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "..", "..", "cgi", "script-cases.json"), encoding="utf-8") as handle:
    CASES = json.load(handle)
_GLOBS_FILE = os.environ.get("CGI_FPM_SCRIPT_GLOBS")
if not _GLOBS_FILE:
    raise SystemExit("route_test.py: CGI_FPM_SCRIPT_GLOBS must name the globs file (run through route-units.test.ts)")
with open(_GLOBS_FILE, encoding="utf-8") as handle:
    GLOBS = json.load(handle)


# `{long}` in a fixture string: one path segment of 5000 bytes (script-cases-peer.ts LONG_SEGMENT).
LONG_SEGMENT = "p" * 5000


def fill(text, places):
    text = text.replace("{long}", LONG_SEGMENT)
    for name, value in places.items():
        text = text.replace("{%s}" % name, value)
    return text


def as_bytes(text, places):
    """A fixture string as bytes: placeholders replaced, UTF-8, %XX a byte."""
    return unquote_to_bytes(fill(text, places))


def apply_op(base, op):
    at = lambda i: as_bytes("%s/%s" % (base, op[i]), {})
    mode = lambda i: int(op[i], 8)
    verb = op[0]
    if verb == "mkdir":
        os.mkdir(at(1))
    elif verb == "write":
        with open(at(1), "wb") as handle:
            handle.write((op[3] if len(op) > 3 else "#!/bin/sh\n").encode())
        os.chmod(at(1), mode(2))
    elif verb == "symlink":
        os.symlink(as_bytes(op[1], {}), at(2))
    elif verb == "link":
        os.link(at(1), at(2))
    elif verb == "rename":
        os.rename(at(1), at(2))
    elif verb == "unlink":
        os.unlink(at(1))
    elif verb == "chmod":
        os.chmod(at(1), mode(2))
    else:
        raise ValueError("unknown op %r" % (op,))


def pool_of(root, rules):
    match = rules.get("match", ["**"])
    return {
        "name": "t", "runtime": "python", "root": rules.get("root", root), "match": match,
        "requireExecutable": rules.get("requireExecutable", True), "scriptGlobs": GLOBS["byMatch"][json.dumps(match, separators=(",", ":"), ensure_ascii=False)],
    }


class RouteCase(unittest.TestCase):

    def check(self, route, expected, places, strict):
        got = {"ok": route.ok}
        if route.ok:
            got.update(scriptFilename=route.script_filename, pathInfo=route.path_info)
        else:
            got.update(status=route.status, event=route.event, reason=route.reason)
        want = {}
        for key, value in expected.items():
            if key == "reasonPrefix":
                self.assertTrue(route.reason.startswith(value), route)
            elif key in ("scriptFilename", "pathInfo"):
                want[key] = as_bytes(value, places)
            else:
                want[key] = fill(value, places) if isinstance(value, str) else value
        if strict:
            self.assertEqual(got, want)
        else:
            self.assertEqual({key: got.get(key) for key in want}, want)


class SharedCases(RouteCase):
    """Every row of script-cases.json "cases": the same answer as resolveScript."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cgi-fpm-route-")
        cls.tree = os.path.join(os.path.realpath(cls.tmp), "tree")
        os.mkdir(cls.tree)
        for op in CASES["tree"]:
            apply_op(cls.tree, op)
        cls.places = {"tmp": cls.tree, "root": cls.tree + "/cgi"}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_cases(self):
        for case in CASES["cases"]:
            with self.subTest(case["name"]):
                router = Router(pool_of(self.places["root"], case["rules"]))
                sent = as_bytes(case["scriptFilename"], self.places), as_bytes(case["pathInfo"], self.places)
                self.check(router.resolve(*sent), case["expected"], self.places, True)
                # Asked again (a kept answer where one is kept): the same answer.
                self.check(router.resolve(*sent), case["expected"], self.places, True)


class CacheScenarios(RouteCase):
    """Every scenario of script-cases.json "cacheScenarios": kept and dropped as ScriptCache."""

    def test_scenarios(self):
        for scenario in CASES["cacheScenarios"]:
            with self.subTest(scenario["name"]):
                with tempfile.TemporaryDirectory() as tmp:
                    self.run_scenario(os.path.realpath(tmp), scenario["steps"])

    def run_scenario(self, dir, steps):
        for op in CASES["cacheTree"]:
            apply_op(dir, op)
        places = {"dir": dir}
        now = [0.0]
        router = Router(pool_of(dir + "/root", {}), clock=lambda: now[0] / 1000.0)
        for step in steps:
            if "op" in step:
                apply_op(dir, step["op"])
            elif "clock" in step:
                now[0] = step["clock"]
            elif "maxEntries" in step:
                router = Router(pool_of(dir + "/root", {}), clock=lambda: now[0] / 1000.0, max_entries=step["maxEntries"])
            elif "resolve" in step:
                name, info = step["resolve"]
                self.check(router.resolve(as_bytes(name, places), as_bytes(info, places)), step["expect"], places, False)
            else:
                name, info = step["cached"]
                hit = router.cached(as_bytes(name, places), as_bytes(info, places))
                self.assertEqual(hit is not None, step["hit"], "%s: hit" % name)


class Globs(unittest.TestCase):
    """picomatch's expressions, compiled by python, give picomatch's verdicts."""

    def test_picomatch_verdicts(self):
        for row in GLOBS["verdicts"]:
            globs = compile_globs([row["glob"]], [row["source"]])
            for relative, verdict in row["inputs"]:
                with self.subTest(glob=row["glob"], input=relative):
                    self.assertEqual(_cgi_fpm_route._matches(globs, relative), verdict)

    def test_a_glob_python_cannot_compile_fails_naming_it(self):
        with self.assertRaises(ValueError) as raised:
            Router({"root": "/srv", "match": ["x(.py"], "scriptGlobs": [["^(?:x(\\.py)$", True]]})
        self.assertIn('match glob "x(.py": python cannot compile', str(raised.exception))

    def test_a_pool_message_without_expressions_fails(self):
        with self.assertRaises(ValueError) as raised:
            Router({"root": "/srv", "match": ["**"]})
        self.assertIn("no scriptGlobs", str(raised.exception))


class Calls(unittest.TestCase):
    """What a resolution costs in system calls, and the errors that are not about the path."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.root = os.path.realpath(self.dir.name)
        os.mkdir(self.root + "/release-1")
        with open(self.root + "/release-1/a.py", "wb") as handle:
            handle.write(b"#!/bin/sh\n")
        os.chmod(self.root + "/release-1/a.py", 0o755)
        os.symlink("release-1", self.root + "/current")
        self.router = Router(pool_of(self.root, {}))
        self.calls = []
        for name in ("_open", "_stat", "_access", "_readlink", "_fstat"):
            real = getattr(_cgi_fpm_route, name)
            self.addCleanup(setattr, _cgi_fpm_route, name, real)
            setattr(_cgi_fpm_route, name, self.counted(name, real))

    def counted(self, name, real):
        def call(*args):
            self.calls.append(name)
            return real(*args)
        return call

    def test_a_hit_is_one_stat_and_through_a_symlink_one_open_more(self):
        path = (self.root + "/release-1/a.py").encode()
        self.assertTrue(self.router.resolve(path, b"").ok)
        self.calls.clear()
        self.assertTrue(self.router.resolve(path, b"").ok)
        self.assertEqual(self.calls, ["_stat"])
        linked = (self.root + "/current/a.py").encode()
        self.assertEqual(self.router.resolve(linked, b"").script_filename, path)
        self.calls.clear()
        self.assertTrue(self.router.resolve(linked, b"").ok)
        self.assertEqual(self.calls, ["_stat", "_open", "_readlink", "_fstat"])

    def test_a_full_resolution_opens_once_without_a_walk(self):
        path = (self.root + "/current/a.py").encode()
        self.calls.clear()
        _cgi_fpm_route.resolve_script(path, b"", self.router.rules)
        self.assertEqual(self.calls, ["_open", "_readlink", "_fstat", "_access"])

    def test_errors_not_about_the_path_are_raised_the_others_answered(self):
        path = (self.root + "/release-1/a.py").encode()
        for code, status in ((errno.EACCES, 403), (errno.EPERM, 403), (errno.ENAMETOOLONG, 404), (errno.ELOOP, 403)):
            _cgi_fpm_route._open = lambda *args, code=code: (_ for _ in ()).throw(OSError(code, os.strerror(code)))
            self.assertEqual(_cgi_fpm_route.resolve_script(path, b"", self.router.rules).status, status)
        _cgi_fpm_route._open = lambda *args: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error"))
        with self.assertRaises(OSError) as raised:
            self.router.resolve(path, b"")
        self.assertEqual(raised.exception.errno, errno.EIO)

    def test_a_file_gone_before_the_access_check_is_404(self):
        path = (self.root + "/release-1/a.py").encode()
        def gone(real, mode):
            os.unlink(real)
            return False
        _cgi_fpm_route._access = gone
        route = _cgi_fpm_route.resolve_script(path, b"", self.router.rules)
        self.assertEqual((route.status, route.reason), (404, "no such file: %s" % path.decode()))


if __name__ == "__main__":
    unittest.main()
