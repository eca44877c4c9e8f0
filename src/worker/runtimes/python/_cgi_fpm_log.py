"""The python worker's log lines, in the daemon's format.

This file implements logging from the perspective of an operator who reads every process's
lines in one stream (the journal, or the supervisor's error_log): one JSON object per line,
written with one write(2) so lines of several processes never mix, in the fields pino gives
the Node processes (`level` as a number, `time` in ms, `pid`, `pool`, the event's fields, a
None written as null, `msg`). With `pretty` (a terminal) a short human line instead. Stdlib
only.
"""

import json
import os
import time

LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60, "silent": 1000}
_NAMES = {value: name.upper() for name, value in LEVELS.items()}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class Logger:
    """Lines at `level` and above go to `fd`; `base` fields (pid, pool) start every line."""

    def __init__(self, level="info", base=None, fd=1, pretty=False):
        self.threshold = LEVELS.get(level, 30)
        self._base = dict(pid=os.getpid(), **(base or {}))
        self._fd = fd
        self._pretty = pretty

    def enabled(self, level):
        return LEVELS[level] >= self.threshold

    def debug(self, fields, msg):
        if self.threshold <= 20:
            self._write(20, fields, msg)

    def info(self, fields, msg):
        if self.threshold <= 30:
            self._write(30, fields, msg)

    def warn(self, fields, msg):
        if self.threshold <= 40:
            self._write(40, fields, msg)

    def error(self, fields, msg):
        if self.threshold <= 50:
            self._write(50, fields, msg)

    def _write(self, level, fields, msg):
        now = int(time.time() * 1000)
        if self._pretty:
            stamp = time.strftime("%H:%M:%S", time.localtime(now / 1000))
            extra = "".join("\n    %s: %s" % (k, _dumps(v)) for k, v in fields.items())
            line = "[%s.%03d] %s (%s): %s%s\n" % (stamp, now % 1000, _NAMES[level], self._base["pid"], msg, extra)
        else:
            record = {"level": level, "time": now}
            record.update(self._base)
            record.update(fields)
            record["msg"] = msg
            line = _dumps(record) + "\n"
        data = line.encode("utf-8", "replace")
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except BlockingIOError:
            pass  # a full, non-blocking log pipe: the line is dropped rather than the worker held
        except OSError:
            pass  # the log is gone: nothing to report it to


def text(value):
    """A log field's text: bytes decoded UTF-8 (a byte that is not shows U+FFFD)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
