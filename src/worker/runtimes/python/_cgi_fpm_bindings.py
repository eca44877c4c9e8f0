"""Every name a request could rebind in code it did not load, and putting it back.

This file implements, from the perspective of the persistent runner, the bindings of the
modules and classes loaded before the first request (the baseline: what python loads at start,
the runner, the pool's preload): each module's attributes (builtins, os.urandom, json.dumps,
sys.stdout, tempfile.tempdir ...), each class's attributes (json.JSONEncoder.default), the
closure cells of their functions, and the code and defaults of those functions; plus which
module object each name in sys.modules stands for.

After each request `changed()` compares the identity of every bound value with the snapshot
(one C-level gc.get_referents walk over ~5000 values, compared as one block of pointers) and
`restore()` puts back what differs. Function code and defaults cannot be compared as cheaply:
an audit hook (_cgi_fpm_watch) records the functions a request changed. Identity, never equality, is
compared: an object a script bound may define __eq__, and no script code may run here.
Not detected: a request that renames bindings while keeping every bound object in its place
(it deletes the last names of a dict and adds others bound to the same objects): it moves no
object, code or data of one request into another. Stdlib only; every function and builtin is
captured at import.
"""

import gc
import sys
from builtins import (
    Exception, ValueError, all, classmethod, dict, enumerate, getattr, id, isinstance, len,
    list, map, object, property, set, staticmethod, str, tuple, type, vars, zip,
)
from _operator import is_

_referents = gc.get_referents
_ModuleType = type(sys)
_FunctionType = type(lambda: 0)
_CellType = type((lambda x: lambda: x)(0).__closure__[0])
_type_setattr = type.__setattr__
_type_delattr = type.__delattr__
_code_set = _FunctionType.__code__.__set__
_defaults_set = _FunctionType.__defaults__.__set__
_kwdefaults_set = _FunctionType.__kwdefaults__.__set__
_HEAPTYPE, _IMMUTABLETYPE = 1 << 9, 1 << 8  # (immutable: python >= 3.10; never set before)
_EMPTY = object()  # an empty closure cell
_modules = sys.modules

class Bindings:
    """The baseline's bindings. `extra` are modules not in sys.modules (the runner's own);
    `instances` are objects whose own attributes are bindings too (os.environ: its storage and
    codec functions, which a request could rebind to reach the next one)."""

    def __init__(self, extra, instances=()):
        self.modules = _unique([m for m in _modules.values() if isinstance(m, _ModuleType)] + extra)
        # An instance's __dict__ is compared and put back as a module's is.
        self.module_dicts = [m.__dict__ for m in self.modules] + [vars(i) for i in instances]
        self.entries = {n: m for n, m in _modules.items() if isinstance(m, _ModuleType)}
        self.entry_names = list(self.entries)
        self.entry_modules = list(self.entries.values())
        classes = _collect_classes(self.module_dicts)
        self.classes = classes
        # A class's __dict__ is a read-only proxy; its referent is the dict itself.
        self.class_dicts = _referents(*[c.__dict__ for c in classes])
        functions = _collect_functions(self.module_dicts + self.class_dicts)
        self.functions = {id(f): (f, f.__code__, f.__defaults__, f.__kwdefaults__) for f in functions}
        self.cells = _unique([c for f in functions for c in (f.__closure__ or ())])
        self.module_copies = [dict(d) for d in self.module_dicts]
        self.class_copies = [dict(d) for d in self.class_dicts]
        self.cell_copies = [_cell_value(c) for c in self.cells]
        self._stale = False  # the copies changed: the live bindings must be made them
        self._snapshot()

    def _snapshot(self):  # only where the live bindings are the copies
        self._targets = self.module_dicts + self.class_dicts + self.cells
        self._values = _referents(*self._targets)
        self._saved = _pointers(self._values)

    def changed(self):
        """True when a bound value is not the object it was, or a binding was added or removed.

        A dict whose keys are all exact str hands gc only its values; a key of another type
        makes it hand its keys too, so the count differs.
        """
        if self._stale:
            return True
        return not _same_objects(_referents(*self._targets), self._values, self._saved)

    def restore(self):
        """Puts back every binding that differs. Returns (dropped, reasons): what was taken out
        (the caller drops it once everything is back, so finalizers of a script's objects run
        after, not during), and why a class could not be put back (the runner is recycled).
        """
        dropped = []
        reasons = []
        for current, saved in zip(self.module_dicts, self.module_copies):
            if len(current) != len(saved) or not _same_dict(current, saved):
                dropped.append(tuple(current.values()))
                current.clear()  # no key is hashed: a script's key may define __hash__
                current.update(saved)
        for cls, current, saved in zip(self.classes, self.class_dicts, self.class_copies):
            if len(current) != len(saved) or not _same_dict(current, saved):
                dropped.append(tuple(current.values()))
                if not _str_keys(current):
                    reasons.append("class %s has a key that is not a str" % cls.__qualname__)
                    continue
                _restore_class(cls, current, saved)
        for cell, saved in zip(self.cells, self.cell_copies):
            if _cell_value(cell) is not saved:
                dropped.append(_cell_value(cell))
                _set_cell(cell, saved)
        self._stale = False
        self._snapshot()
        return dropped, reasons

    def restore_functions(self, functions):
        """Puts back code and defaults of baseline functions a request set (Watch records)."""
        for function in functions:
            saved = self.functions.get(id(function))
            if saved is None or saved[0] is not function:
                continue  # a function the request made: none of ours
            _, code, defaults, kwdefaults = saved
            if function.__code__ is not code:
                _code_set(function, code)
            if function.__defaults__ is not defaults:
                _defaults_set(function, defaults)
            if function.__kwdefaults__ is not kwdefaults:
                _kwdefaults_set(function, kwdefaults)

    def restore_modules(self, keep_new):
        """Makes each baseline name in sys.modules the module it was; modules a request added
        are dropped (state.modules = reset) or kept, with the attribute their import set on a
        baseline parent package (`collections.abc` on `collections`) accepted into the baseline.
        """
        modules = _modules
        entries = self.entries
        # One C-level pass when every baseline name still stands for its module.
        if len(modules) == len(entries) and all(map(is_, map(modules.get, self.entry_names), self.entry_modules)):
            return []
        for name, module in entries.items():
            if modules.get(name) is not module:
                modules[name] = module
        if len(modules) == len(entries):
            return []
        names = list(modules)
        if not all(type(name) is str for name in names):
            kept = {n: m for n, m in modules.items() if type(n) is str}
            modules.clear()
            modules.update(kept)
            names = list(kept)
        added = [name for name in names if name not in entries]
        if not keep_new:
            return [modules.pop(name) for name in added]
        for name in added:
            self._accept_child(name, modules[name])
        return []

    def _accept_child(self, name, module):
        parent_name, _, child = name.rpartition(".")
        parent = self.entries.get(parent_name)
        if parent is None or getattr(parent, child, None) is not module:
            return
        for index, candidate in enumerate(self.modules):
            if candidate is parent:
                self.module_copies[index][child] = module
        self._stale = True  # the live bindings become the copies at the next restore


def _identity_comparison():
    """The fastest safe way to ask whether two lists hold the same objects in the same order.

    Where ctypes can read a list's item array (checked on a probe list), the arrays of
    pointers are compared as bytes: ~1 us for 5000 items. Else `operator.is_` item by item
    (~20 ns each). ctypes is then taken out of sys.modules, so no script reaches the copy the
    runner uses (a script importing ctypes gets its own, and the audit hook recycles the
    runner when it is used).
    """
    before = set(_modules)
    try:
        import ctypes

        void_p = ctypes.c_void_p
        string_at = ctypes.string_at
        size = ctypes.sizeof(void_p)
        offset = 3 * size  # ob_refcnt, ob_type, ob_size, then ob_item
        probe = [object(), object()]
        items = void_p.from_address(id(probe) + offset).value
        readable = (
            items is not None
            and void_p.from_address(items).value == id(probe[0])
            and void_p.from_address(items + size).value == id(probe[1])
        )
    except Exception:  # no ctypes (or no libffi): item by item
        readable = False
    finally:
        for name in [name for name in _modules if name not in before]:
            del _modules[name]
    if not readable:
        return (lambda values: None), (
            lambda current, saved, raw: len(current) == len(saved) and all(map(is_, current, saved))
        )

    def pointers(values):
        if not values:
            return b""
        return string_at(void_p.from_address(id(values) + offset).value, len(values) * size)

    def same(current, saved, raw):
        return len(current) == len(saved) and pointers(current) == raw

    return pointers, same


_pointers, _same_objects = _identity_comparison()


def _unique(objects):
    seen = set()
    out = []
    for obj in objects:
        if id(obj) not in seen:
            seen.add(id(obj))
            out.append(obj)
    return out


def _mutable_class(value):
    return isinstance(value, type) and value.__flags__ & _HEAPTYPE and not value.__flags__ & _IMMUTABLETYPE


def _collect_classes(module_dicts):
    """Mutable classes bound in the modules, their nested classes, bases, and the classes of
    objects bound there (os.environ's _Environ)."""
    found = []
    seen = set()
    pending = []
    for d in module_dicts:
        for value in list(d.values()):
            pending.append(value if isinstance(value, type) else type(value))
    while pending:
        cls = pending.pop()
        if id(cls) in seen or not _mutable_class(cls):
            continue
        seen.add(id(cls))
        found.append(cls)
        pending.extend(cls.__mro__[1:])
        pending.extend(v for v in list(cls.__dict__.values()) if isinstance(v, type))
    return found


def _collect_functions(dicts):
    found = []
    for d in dicts:
        for value in list(d.values()):
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                found.extend(f for f in (value.fget, value.fset, value.fdel) if type(f) is _FunctionType)
            elif type(value) is _FunctionType:
                found.append(value)
    return _unique(found)


def _str_keys(d):
    """True when every key is an exact str (gc then sees the values alone)."""
    return len(_referents(d)) == len(d)


def _same_dict(current, saved):
    return (
        _str_keys(current)
        and all(map(is_, current.values(), saved.values()))
        and list(current) == list(saved)
    )


def _restore_class(cls, current, saved):
    for name in [name for name in current if name not in saved]:
        _type_delattr(cls, name)
    for name, value in saved.items():
        if current.get(name, _EMPTY) is not value:
            _type_setattr(cls, name, value)


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY


def _set_cell(cell, value):
    if value is _EMPTY:
        del cell.cell_contents
    else:
        cell.cell_contents = value

