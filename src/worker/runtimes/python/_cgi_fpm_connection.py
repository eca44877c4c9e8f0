"""The python worker's end of its FastCGI channel.

This file implements, from the perspective of the worker's loop, the socket the supervisor
made at spawn (fd 3): reads handed to the responder as they come, writes gathered during a
turn of the loop and sent in one writev before the next poll (the records of a short response,
its end and END_REQUEST leave together), with backpressure: past HIGH_WATER bytes not yet taken
by the supervisor, `full` is true and `when_drained` calls back once they are. Stdlib only.
"""

import os
import select
import time

# Bytes waiting for the supervisor past which a producer must wait for `when_drained`.
HIGH_WATER = 256 * 1024
# Bytes read per read(2): under glibc's mmap threshold once raised (see tune_allocator), so a
# read's bytes object comes from the heap, not from an mmap, an mremap and a munmap each.
READ_BYTES = 256 * 1024
# The mmap threshold tune_allocator sets, in bytes (glibc then trims the heap only past twice it).
MMAP_THRESHOLD_BYTES = 1024 * 1024
# Most buffers handed to one writev(2) (IOV_MAX is 1024).
MAX_IOV = 512


def tune_allocator():
    """Raises glibc malloc's mmap threshold to MMAP_THRESHOLD_BYTES (and its trim threshold to
    twice that): glibc does so by itself when a block it had mmapped is freed, so one such block
    is made and dropped. Without it, a body relayed in 64 KiB pieces grows and trims the heap
    top on every piece (brk, page faults on fresh pages, TLB shootdowns): measured 8-12 ms of
    worker CPU per MB of body on this 2-CPU VM, against ~0.6 ms/MB with it. Python has no
    mallopt(3); on another libc this only allocates and frees a megabyte."""
    bytes(MMAP_THRESHOLD_BYTES)


class Connection:
    """The channel socket `fd`: `on_data(bytes)` per read, `on_eof()` once it closed; `gate()`,
    when given, is asked before each read (False: not now)."""

    def __init__(self, loop, fd, on_data, on_eof, gate=None):
        os.set_inheritable(fd, False)
        os.set_blocking(fd, False)
        self.fd = fd
        self._loop = loop
        self._on_data = on_data
        self._on_eof = on_eof
        self._out = []
        self._out_bytes = 0
        self._drained = []
        self._flushed = []
        self._paused = False
        self._holds = 0
        # Asked before each read: False = not now (the owner held the connection meanwhile).
        self._gate = gate
        self.closed = False
        loop.add_reader(fd, self._readable)
        self._flush_hook = self.flush
        loop.before_poll(self._flush_hook)

    @property
    def full(self):
        return self._out_bytes >= HIGH_WATER

    def when_drained(self, callback):
        """Calls `callback()` once the bytes waiting are below HIGH_WATER (now if they are)."""
        if self._out_bytes < HIGH_WATER or self.closed:
            callback()
        else:
            self._drained.append(callback)

    def when_flushed(self, callback):
        """Calls `callback()` once every queued byte was written, or the peer was lost (now if
        nothing waits)."""
        if not self._out or self.closed:
            callback()
        else:
            self._flushed.append(callback)

    def read_now(self):
        """Reads what is there without waiting for the poll (a connection just accepted: the
        web server's request usually came with it)."""
        if not self.closed and not self._paused and not self._holds:
            self._readable()

    def pause(self):
        """Stops reading (a script's stdin is full): the supervisor's writes wait."""
        self._paused = True
        self._watch()

    def resume(self):
        self._paused = False
        self._watch()

    def hold(self):
        """Stops reading until `release()`, whatever pause() and resume() do meanwhile."""
        self._holds += 1
        self._watch()

    def release(self):
        self._holds -= 1
        self._watch()

    def _watch(self):
        if self.closed:
            return
        if self._paused or self._holds:
            self._loop.remove_reader(self.fd)
        else:
            self._loop.add_reader(self.fd, self._readable)

    def write(self, buffers):
        """Queues `buffers` (bytes-like) for the next flush."""
        if self.closed:
            return
        out = self._out
        for buffer in buffers:
            out.append(buffer)
            self._out_bytes += len(buffer)
        if self._out_bytes >= HIGH_WATER:
            self.flush()

    def flush(self):
        out = self._out
        while out:
            try:
                written = os.writev(self.fd, out[:MAX_IOV])
            except BlockingIOError:
                self._loop.add_writer(self.fd, self._writable)
                return
            except OSError:
                self._lost()
                return
            self._out_bytes -= written
            taken = 0
            while taken < len(out) and written >= len(out[taken]):
                written -= len(out[taken])
                taken += 1
            del out[:taken]
            if written:
                out[0] = memoryview(out[0])[written:]
        self._loop.remove_writer(self.fd)
        if self._drained:
            callbacks, self._drained = self._drained, []
            for callback in callbacks:
                callback()
        if self._flushed:
            callbacks, self._flushed = self._flushed, []
            for callback in callbacks:
                callback()

    def _writable(self):
        self.flush()

    def _readable(self):
        if self._gate is not None and not self._gate():
            return
        try:
            data = os.read(self.fd, READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._on_data(data)
        else:
            self._lost()

    def _lost(self):
        if self.closed:
            return
        self.closed = True
        self._out.clear()
        self._out_bytes = 0
        self._loop.forget(self.fd)
        self._loop.drop_hook(self._flush_hook)
        callbacks, self._drained = self._drained + self._flushed, []
        self._flushed = []
        for callback in callbacks:
            callback()
        self._on_eof()

    def detach(self):
        """Stops reading, writing and buffering at once; the descriptor stays open for its
        owner (a socket object) to close."""
        if not self.closed:
            self.closed = True
            self._out.clear()
            self._out_bytes = 0
            self._loop.forget(self.fd)
            self._loop.drop_hook(self._flush_hook)
        self._drained = []
        self._flushed = []
        self.fd = -1

    def close(self, seconds=1.0):
        """Writes what is queued (waiting at most `seconds` for the peer to take it), then
        closes the descriptor (also after the peer was lost: the descriptor is still ours)."""
        if not self.closed:
            deadline = time.monotonic() + seconds
            waiter = select.poll()
            waiter.register(self.fd, select.POLLOUT)
            self.flush()
            while self._out and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                waiter.poll(int(left * 1000) + 1)
                self.flush()
        if not self.closed:
            self.closed = True
            self._out.clear()
            self._loop.forget(self.fd)
            self._loop.drop_hook(self._flush_hook)
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
