"""What a request did that no binding or setting shows afterwards, seen as it happens.

This file implements, from the perspective of the persistent runner, an audit hook (PEP 578)
installed once: it records the functions whose __code__, __defaults__ or __kwdefaults__ a
request set (the bindings check puts them back), the variables os.putenv / os.unsetenv touched
behind os.environ's back, and the events after which the runner cannot vouch for its own
state (ctypes, an added audit hook, gc introspection, changed resource limits). Stdlib only;
every function and builtin is captured at import.
"""

import sys
from builtins import RuntimeError, frozenset, type

_FunctionType = type(lambda: 0)

# Audit events after which the runner cannot vouch for its own state (see Watch).
_UNTRUSTED_EVENTS = {
    "sys.addaudithook": "an audit hook was added (it would see later requests)",
    "resource.setrlimit": "resource limits were changed",
    "resource.prlimit": "resource limits were changed",
    "gc.get_objects": "gc introspection reached objects of other requests and of the runner",
    "gc.get_referrers": "gc introspection reached objects of other requests and of the runner",
    "gc.get_referents": "gc introspection reached objects of other requests and of the runner",
}
_FUNCTION_EVENTS = frozenset(("object.__setattr__", "object.__delattr__"))
_ENV_EVENTS = frozenset(("os.putenv", "os.unsetenv"))


class Watch:
    """An audit hook (PEP 578), installed once: records the functions whose __code__,
    __defaults__ or __kwdefaults__ a request set, and why the runner can no longer be trusted
    (ctypes, an added audit hook, gc introspection). Off while the runner itself works.
    """

    def __init__(self, protected_files):
        self.functions = []
        self.reasons = []
        self.env_names = []  # variables set or removed by os.putenv / os.unsetenv
        self.quiet = True  # the runner's own gc.get_referents calls are not a script's
        self._protected = protected_files
        watch = self

        def hook(event, args):
            if watch.quiet:
                return
            if event in _FUNCTION_EVENTS:
                target = args[0]
                if type(target) is _FunctionType:
                    if target.__code__.co_filename in watch._protected:
                        raise RuntimeError("cgi-fpm: the runner's own functions are read-only")
                    watch.functions.append(target)
            elif event in _ENV_EVENTS:
                watch.env_names.append(args[0])
            elif event in _UNTRUSTED_EVENTS:
                watch.reasons.append(_UNTRUSTED_EVENTS[event])
            elif event.startswith("ctypes."):
                watch.reasons.append("ctypes was used (%s)" % event)

        sys.addaudithook(hook)

    def take(self):
        """Returns (functions, reasons) recorded since the last call and forgets them."""
        functions, reasons = self.functions, self.reasons
        self.functions, self.reasons = [], []
        return functions, reasons

    def take_env_names(self):
        """Returns the variables os.putenv / os.unsetenv touched since the last call."""
        names, self.env_names = self.env_names, []
        return names
