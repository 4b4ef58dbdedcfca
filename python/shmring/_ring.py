# SPDX-License-Identifier: MIT
"""The Ring class: a handle on one shmring, with Python's conventions.

Timeouts are in seconds (int or float): ``None`` waits as long as it takes,
``0`` does not wait (BlockingIOError when the ring is full or empty), a
positive number waits at most that long (TimeoutError). Long waits are cut
into slices of 0.1 s inside, so Ctrl-C (KeyboardInterrupt) and a close() from
another thread are noticed within that time.

A Ring belongs to one thread at a time, like its C handle: a call while
another thread is inside a call on the same Ring raises RuntimeError (a
cheap check, not a lock: it catches the mistake, it does not serialise
threads). close() from another thread is safe: it waits for the call in
flight to return.

The package, one concern a module: _capi (the library and its C types),
_errors (errno -> exception), _ring (Ring: lifecycle, send/recv, bursts,
iteration, stream control), _zerocopy (Reservation, Acquisition), _info
(what info() and stats() return), _aio (the asyncio calls Ring inherits),
_poll (shmring.poll()).
"""
from __future__ import annotations

import ctypes
import errno as _errno
import mmap
import os
import threading
import time
import warnings
from array import array
from ctypes import (POINTER, Structure, byref, c_char_p, c_int, c_int64, c_size_t,
                    c_ssize_t, c_void_p)
from itertools import accumulate, islice
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _capi
from ._capi import lib
from ._aio import AsyncRing
from ._info import RingInfo, RingStats, Subscriber, _peers, _subscribers
from ._zerocopy import Acquisition, Reservation, _drop_view
from ._errors import EndReason, StreamAborted, error, stream_aborted

BytesLike = Union[bytes, bytearray, memoryview]
Timeout = Optional[float]
PathName = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_SLICE_NS = 100_000_000          # longest single wait inside the library
_SCRATCH_MAX = 256 * 1024        # recv()'s private buffer, at most
_RECV_MANY_BYTES = 256 << 10     # bytes per burst, at most (>= 1 slot): stays in cache
_SEND_CHUNK = 1024               # messages joined per send_many() round

_EAGAIN, _ETIMEDOUT = -_errno.EAGAIN, -_errno.ETIMEDOUT
_EINVAL, _EMSGSIZE = -_errno.EINVAL, -_errno.EMSGSIZE
_EPIPE, _ESTALE = -_errno.EPIPE, -_errno.ESTALE
# the operations whose -EPIPE is a consumer's end of stream (with a reason)
_RECV_OPS = frozenset(("recv", "recv_into", "recv_many", "acquire"))

_ROLES = {None: 0, "producer": _capi.PRODUCER, "consumer": _capi.CONSUMER,
          "both": _capi.PRODUCER | _capi.CONSUMER}
_KINDS = {"spsc": _capi.SPSC, "mpmc": _capi.MPMC, "broadcast": _capi.BROADCAST}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}

_recv = lib.shmring__recv_slow


def _raw(name: str, restype):
    """The hot calls without argtypes: every argument is passed as a ready
    ctypes object (c_void_p, c_size_t, c_int64), bytes (a pointer to their
    data) or a Python int for C int/unsigned parameters, which saves ctypes'
    per-call conversions (about a third of a call's cost)."""
    fn = lib[name]        # a new function object, apart from lib's
    fn.restype = restype
    return fn


_send_raw = _raw("shmring__send_slow", c_int)
_recv_raw = _raw("shmring__recv_slow", c_ssize_t)
_send_burst_raw = _raw("shmring_send_burst", c_int)
_recv_burst_raw = _raw("shmring_recv_burst", c_int)
_T_SLICE = c_int64(_SLICE_NS)    # the first call's timeout when waiting long
_T_ZERO = c_int64(0)
_T_ONE = c_int64(1)
_LENS: dict = {}                 # c_size_t objects of message lengths seen


def _clen(n: int) -> c_size_t:
    cl = _LENS.get(n)
    if cl is None:
        cl = c_size_t(n)
        if len(_LENS) < 4096:
            _LENS[n] = cl
    return cl
_reserve = lib.shmring__reserve_slow
_commit = lib.shmring__commit_slow
_acquire = lib.shmring__acquire_slow
_release = lib.shmring__release_slow
_string_at = ctypes.string_at   # recv() of big messages copies with it (tests hook it)
_monotonic = time.monotonic
_get_ident = threading.get_ident


# -- buffers: the address of any C-contiguous bytes-like object -------------

class _PyBuffer(Structure):
    """Py_buffer (stable since Python 3.3)."""
    _fields_ = [("buf", c_void_p), ("obj", c_void_p), ("len", c_ssize_t),
                ("itemsize", c_ssize_t), ("readonly", c_int), ("ndim", c_int),
                ("format", c_char_p), ("shape", c_void_p), ("strides", c_void_p),
                ("suboffsets", c_void_p), ("internal", c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, POINTER(_PyBuffer), c_int]
_get_buffer.restype = c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [POINTER(_PyBuffer)]
_release_buffer.restype = None
_PyBUF_SIMPLE, _PyBUF_WRITABLE = 0, 1


class _Buffer:
    """Holds a buffer export of obj (so it cannot move or shrink) while the
    library reads or writes it: ``with _Buffer(obj, writable) as (addr, n)``.
    Raises BufferError for a non-contiguous buffer, TypeError for an object
    without the buffer protocol or (writable) a read-only one."""
    __slots__ = ("view",)

    def __init__(self, obj: object, writable: bool) -> None:
        self.view = _PyBuffer()
        try:
            _get_buffer(obj, byref(self.view), _PyBUF_WRITABLE if writable else _PyBUF_SIMPLE)
        except (BufferError, ValueError) as e:   # (numpy raises ValueError)
            if writable and memoryview(obj).readonly:
                raise TypeError(f"a writable buffer is needed, not a read-only "
                                f"{type(obj).__name__}") from None
            raise BufferError(f"{type(obj).__name__}: {e} (a C-contiguous buffer is "
                              "needed; pass a contiguous copy)") from e

    def __enter__(self) -> Tuple[int, int]:
        return self.view.buf or 0, self.view.len

    def __exit__(self, *exc: object) -> None:
        _release_buffer(byref(self.view))


# -- names ---------------------------------------------------------------

def _place(name: PathName) -> Tuple[bool, bytes, str]:
    """(is_file, the name for C, the name for messages): the CLI's rule, a
    name with a '/' after its first character is a file path (./r,
    /var/run/app/r); otherwise a POSIX shm name, its leading '/' optional.
    A path-like object (pathlib.Path) is always a file."""
    if isinstance(name, os.PathLike):
        raw = os.fsencode(name)
        return True, raw, os.fsdecode(raw)
    if isinstance(name, str):
        raw = os.fsencode(name)
    elif isinstance(name, bytes):
        raw = name
    else:
        raise TypeError(f"ring name must be str, bytes or os.PathLike, not {type(name).__name__}")
    if not raw:
        raise ValueError("ring name is empty")
    if b"\0" in raw:
        raise ValueError("ring name contains a NUL byte")
    if b"/" in raw[1:]:
        return True, raw, os.fsdecode(raw)
    if not raw.startswith(b"/"):
        raw = b"/" + raw
    return False, raw, os.fsdecode(raw)


def _role_bits(role: Optional[str]) -> int:
    try:
        return _ROLES[role]
    except (KeyError, TypeError):
        raise ValueError(f"role must be 'producer', 'consumer', 'both' or None, not {role!r}") from None


def _c_ns(timeout: Timeout) -> c_int64:
    """_first_ns() as a ctypes object (the same objects for the usual ones,
    so that a caller can test ``t is _T_SLICE``)."""
    if timeout is None:
        return _T_SLICE
    ns = _first_ns(timeout)
    return _T_SLICE if ns == _SLICE_NS else _T_ZERO if ns == 0 else c_int64(ns)


def _first_ns(timeout: Timeout) -> int:
    """The timeout of the first call into the library, in ns (at most one
    slice; _wait() goes on from there)."""
    if timeout is None:
        return _SLICE_NS
    if timeout > 0:
        ns = int(timeout * 1e9)
        return _SLICE_NS if ns > _SLICE_NS else (ns or 1)
    if timeout == 0:
        return 0
    raise ValueError(f"timeout must be None, 0 or positive (seconds), not {timeout!r}")


# -- the ring --------------------------------------------------------------

class Ring(AsyncRing):
    """A handle on a shmring: a ring of fixed-size message slots in shared
    memory, shared by processes that open it by name.

    Make one with :meth:`create` or :meth:`open` (or :meth:`create_memfd` /
    :meth:`open_fd`); close it with :meth:`close` or a ``with`` block.
    Its role decides what it may do: ``"producer"`` sends, ``"consumer"``
    receives, ``"both"`` does both, ``None`` only looks (info, stats).
    """
    __slots__ = ("_h", "_hc", "_name", "_roles", "_kind", "_slot_size", "_slots",
                 "_lock", "_inflight", "_closing", "_pid", "_scratch", "_scratch_p",
                 "_scratch_cap", "_mem_size", "_flags", "_map_base", "_map_rw", "_map_ro",
                 "_reservation", "_pending", "_acquired", "_rmany", "_event_fd", "__weakref__")

    def __init__(self) -> None:
        raise TypeError("use Ring.create(), Ring.open(), Ring.create_memfd() or Ring.open_fd()")

    # -- lifecycle --

    @classmethod
    def _attach(cls, handle: c_void_p, name: str) -> "Ring":
        self = object.__new__(cls)
        self._h = handle.value      # the handle, an int (argtypes calls)
        self._hc = c_void_p(self._h)  # the same, ready for the raw calls
        self._name = name
        self._lock = threading.Lock()   # close() against close()
        self._inflight = 0              # the thread inside a call into the library
        self._closing = False
        self._pid = os.getpid()
        self._reservation = None   # outstanding, not committed
        self._pending = None       # ... and its with block left without commit
        self._acquired = None
        self._rmany = None
        self._event_fd = None        # shmring_event_fd(), once an async call needed it
        self._map_base = 0           # zero-copy views: see _slot_view()
        self._map_rw = self._map_ro = None
        inf = _capi.Info()
        rc = lib.shmring_info(self._h, byref(inf))
        if rc < 0:
            lib.shmring_close(self._h)
            self._h = None
            raise error(rc, name, "info")
        self._kind = inf.kind
        self._slot_size = inf.slot_size
        self._slots = inf.slots
        self._roles = inf.roles
        self._mem_size = inf.mem_size
        self._flags = inf.flags
        # recv()'s buffer; larger messages are copied out of their slot
        cap = min(self._slot_size, _SCRATCH_MAX) if self._roles & _capi.CONSUMER else 0
        self._scratch = ctypes.create_string_buffer(max(cap, 1))
        self._scratch_p = c_void_p(ctypes.addressof(self._scratch))
        self._scratch_cap = c_size_t(cap)
        return self

    @classmethod
    def create(cls, name: PathName, *, slots: int, slot_size: int, kind: str = "spsc",
               role: Optional[str] = None, mode: int = 0o600, flags: int = 0) -> "Ring":
        """Create a new ring and attach to it with ``role``.

        ``name``: a POSIX shm name (``"/frames"``, the ``/`` optional), or a
        file path (a ``/`` after the first character, as ``"./r"`` or
        ``"/dev/shm/app/r"``, or any ``pathlib.Path``): the ring then lives
        in that file. ``slots``: a power of two, 2 to 2**32. ``slot_size``:
        the largest message in bytes, 1 to 2**30. ``kind``: ``"spsc"`` (one
        producer, one consumer), ``"mpmc"`` (up to 64 of each) or
        ``"broadcast"`` (one producer, up to 64 subscribers: every
        ``role="consumer"`` attachment receives every message sent after it
        attached; see :meth:`subscribers`). ``mode``: permission bits.
        ``flags``: PREFAULT, MLOCK, HUGEPAGES (files on hugetlbfs only),
        OVERWRITE (SPSC or broadcast: the producer never waits, the oldest
        messages are overwritten; a broadcast subscriber counts its own
        losses in ``stats().overruns``), PACKED (SPSC: messages of any
        length up to ``slot_size`` packed back to back in ``slots *
        slot_size`` bytes); OVERWRITE and PACKED exclude each other.

        FileExistsError, PermissionError, RingValueError (name, sizes,
        kind), OSError (-ENOSPC, -ENOMEM, ...).
        """
        is_file, raw, shown = _place(name)
        cfg = cls._config(kind, slots, slot_size, mode, flags)
        h = c_void_p()
        fn = lib.shmring_create_file if is_file else lib.shmring_create
        rc = fn(raw, byref(cfg), _role_bits(role), byref(h))
        if rc < 0:
            raise error(rc, shown, "create")
        return cls._attach(h, shown)

    @classmethod
    def open(cls, name: PathName, role: Optional[str] = None) -> "Ring":
        """Attach to an existing ring (a shm name or a file path, as in
        :meth:`create`) with ``role``.

        FileNotFoundError, PermissionError, OSError EBUSY (an SPSC role held
        by a live process), OSError EUSERS (MPMC: 64 live attachments on
        that side), ProtocolError (not a ring, another layout version)."""
        is_file, raw, shown = _place(name)
        h = c_void_p()
        fn = lib.shmring_open_file if is_file else lib.shmring_open
        rc = fn(raw, _role_bits(role), byref(h))
        if rc < 0:
            raise error(rc, shown, "open")
        return cls._attach(h, shown)

    @classmethod
    def create_memfd(cls, *, slots: int, slot_size: int, kind: str = "spsc",
                     role: Optional[str] = None, flags: int = 0) -> "Ring":
        """Create an anonymous ring (memfd, sealed against shrink and grow).
        Share it through :meth:`fileno` (a child process, or SCM_RIGHTS over
        a Unix socket) and attach there with :meth:`open_fd`."""
        cfg = cls._config(kind, slots, slot_size, 0o600, flags)
        h = c_void_p()
        rc = lib.shmring_create_memfd(byref(cfg), _role_bits(role), byref(h))
        if rc < 0:
            raise error(rc, "<memfd>", "create_memfd")
        return cls._attach(h, "<memfd>")

    @classmethod
    def open_fd(cls, fd: int, role: Optional[str] = None) -> "Ring":
        """Attach through a descriptor of a ring (it is duplicated; the
        caller keeps its own)."""
        h = c_void_p()
        rc = lib.shmring_open_fd(fd, _role_bits(role), byref(h))
        if rc < 0:
            raise error(rc, f"<fd {fd}>", "open_fd")
        return cls._attach(h, f"<fd {fd}>")

    @staticmethod
    def unlink(name: PathName) -> None:
        """Remove a ring's name (shm name) or file; attached processes keep
        using it. FileNotFoundError, PermissionError."""
        is_file, raw, shown = _place(name)
        if is_file:
            try:
                os.unlink(raw)
            except OSError as e:
                raise type(e)(e.errno, f"unlink: {e.strerror}", shown) from None
            return
        rc = lib.shmring_unlink(raw)
        if rc < 0:
            raise error(rc, shown, "unlink")

    @staticmethod
    def _config(kind: str, slots: int, slot_size: int, mode: int, flags: int) -> _capi.Config:
        if kind not in _KINDS:
            raise ValueError(f"kind must be 'spsc', 'mpmc' or 'broadcast', not {kind!r}")
        if not 0 <= slot_size < 1 << 32:
            raise ValueError(f"slot_size out of range: {slot_size}")
        if not 0 <= slots < 1 << 64:
            raise ValueError(f"slots out of range: {slots}")
        return _capi.Config(_KINDS[kind], slot_size, slots, mode, flags)

    def close(self) -> None:
        """Detach: release the roles and unmap. Idempotent. A producer that
        closes without shutdown() (or abort()) ends its part of the stream
        as died: consumers drain, then their iteration raises StreamAborted
        (EndReason.DIED); a ``with`` block shuts down or aborts before it
        closes. Zero-copy views still held (slices, numpy arrays) stay
        readable: they keep the Ring's own mapping until they go. It may be
        called from another thread: a call in flight there ends first (one
        waiting gives up within 0.1 s with ValueError), then the handle
        goes."""
        with self._lock:
            h = self._h
            if h is None:
                return
            # from here on, calls find a NULL handle (-EINVAL: "closed")
            self._closing = True
            self._h, self._hc = None, c_void_p()
        if self._pid != os.getpid():
            # a forked child's copy holds no roles: the library only unmaps
            lib.shmring_close(h)
            self._unmap_views()
            return
        me = _get_ident()
        while self._inflight and self._inflight != me:
            time.sleep(0.001)
        # the views handed out go (those exported to numpy arrays, and
        # slices, cannot be revoked: they keep the Ring's mapping)
        for held in (self._reservation, self._acquired):
            if held is not None:
                _drop_view(held.view)
        self._reservation = self._pending = self._acquired = None
        lib.shmring_close(h)
        self._unmap_views()

    def __enter__(self) -> "Ring":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """A producer ends its stream as the block ended: shutdown() when
        it ended normally, abort() when an exception left it (consumers
        then see EndReason.ABORTED), then close(). An explicit shutdown()
        in the block stands (abort() cannot undo it)."""
        try:
            if (self._roles & _capi.PRODUCER and self._h is not None and not self._inflight
                    and self._pid == os.getpid()):
                if exc_type is None:
                    self._end_stream(lib.shmring_shutdown, "shutdown")
                else:
                    try:
                        self._end_stream(lib.shmring_abort, "abort")
                    except (OSError, ValueError):
                        pass   # already shut down: declared complete; never mask exc
        finally:
            self.close()

    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError(f"a shmring.Ring cannot be pickled or copied ({self._name!r}): it is "
                        "this process's attachment; open the ring by name in the other "
                        "process (Ring.open(name, role=...)), or pass its fileno() over a "
                        "Unix socket and use Ring.open_fd()")

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            try:
                warnings.warn(f"unclosed shmring.Ring {self._name!r}", ResourceWarning,
                              source=self)
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        state = "closed" if self._h is None else _role_name(self._roles)
        return (f"<shmring.Ring {self._name!r} {_KIND_NAMES.get(self._kind, '?')} "
                f"slots={self._slots} slot_size={self._slot_size} {state}>")

    # -- properties --

    @property
    def name(self) -> str:
        """The name or path this ring was created or opened with."""
        return self._name

    @property
    def kind(self) -> str:
        """``"spsc"``, ``"mpmc"`` or ``"broadcast"``."""
        return _KIND_NAMES.get(self._kind, str(self._kind))

    @property
    def slot_size(self) -> int:
        """The largest message, in bytes."""
        return self._slot_size

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def role(self) -> Optional[str]:
        """``"producer"``, ``"consumer"``, ``"both"`` or None."""
        return _role_name(self._roles)

    @property
    def closed(self) -> bool:
        return self._h is None

    @property
    def end_reason(self) -> Optional[EndReason]:
        """How the stream ended (shmring_end_reason()): None while it has
        not ended, else EndReason.CLEAN (every producer shut down),
        EndReason.ABORTED (a producer called abort()) or EndReason.DIED (a
        producer died, closed or exec'd without shutdown). A consumer Ring
        answers once one of its receives met the end of the stream, until
        it receives a message of a new stream on the ring; a Ring without the
        consumer role answers for the ring as it stands. EndReason is an
        IntEnum: ``shmring.END_CLEAN`` etc. are its members."""
        self._enter()
        try:
            rc = lib.shmring_end_reason(self._h)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "end_reason")
        return EndReason(rc) if rc else None

    def fileno(self) -> int:
        """The ring's descriptor, owned by the Ring (closed by close(); dup
        it to keep it). For open_fd() in another process."""
        self._enter()
        try:
            rc = lib.shmring_fd(self._h)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "fileno")
        return rc

    # -- internals --

    def _enter(self) -> None:
        """Take the Ring for one call; the caller clears self._inflight in a
        finally clause (the hot paths do the same inline)."""
        if self._inflight:
            raise self._busy()
        self._inflight = _get_ident()
        if self._h is None:
            self._inflight = 0
            raise self._closed_error()

    def _busy(self) -> Exception:
        """The error for a call while another one is in flight."""
        if self._h is None or self._closing:
            return self._closed_error()
        return RuntimeError(f"shmring.Ring {self._name!r} is in use by another thread "
                            "(a Ring, like its C handle, is for one thread at a time)")

    def _closed_error(self) -> ValueError:
        return ValueError(f"shmring.Ring {self._name!r} is closed")

    def _error(self, rc: int, op: str, hint: str = "") -> Exception:
        if self._h is None:
            return self._closed_error()
        if rc == _EPIPE and op in _RECV_OPS and self._roles & _capi.CONSUMER:
            # a consumer's end of stream: plain BrokenPipeError only when clean
            reason = lib.shmring_end_reason(self._h)
            if reason != _capi.END_CLEAN:
                return stream_aborted(EndReason(reason) if reason in (
                    _capi.END_ABORTED, _capi.END_DIED) else None, self._name, op)
        if not hint and rc == _EINVAL:
            hint = self._einval_hint(op)
        elif not hint and rc == -_errno.EBUSY and op in ("reserve", "acquire"):
            hint = ("a reservation is outstanding: commit it first" if op == "reserve"
                    else "an acquired message is not released yet")
        return error(rc, self._name, op, hint)

    def _einval_hint(self, op: str) -> str:
        if self._pid != os.getpid():
            return "this Ring was inherited across fork(): open the ring again in the child"
        send_ops = ("send", "send_many", "reserve", "commit", "shutdown", "abort")
        if op in send_ops and not self._roles & _capi.PRODUCER:
            return f"this Ring's role is {self.role!r}, not a producer"
        if op == "abort":
            return "the stream was already shut down (declared complete)"
        if op in ("recv", "recv_into", "recv_many", "acquire", "release") \
                and not self._roles & _capi.CONSUMER:
            return f"this Ring's role is {self.role!r}, not a consumer"
        if op in ("recv", "recv_into", "recv_many") and self._acquired is not None:
            return "an acquired message is not released yet"
        if op in ("send", "send_many") and self._reservation is not None:
            return "a reservation is outstanding: commit it first"
        return ""

    def _wait(self, call, timeout: Timeout, first_ns: int, rings: Sequence["Ring"] = ()) -> int:
        """Go on after a first call of first_ns timed out: call(ns) again in
        slices until it does not time out, or timeout (seconds) is over."""
        return self._until(call, None if timeout is None
                           else _monotonic() + timeout - first_ns / 1e9, rings)

    def _until(self, call, deadline: Optional[float], rings: Sequence["Ring"] = ()) -> int:
        """call(ns) in slices of at most 0.1 s until it does not time out, or
        the deadline (time.monotonic(); None: never) has passed. Gives up
        when this Ring (or one of rings) is being closed by another thread."""
        while True:
            for r in (self, *rings):
                if r._closing:
                    raise ValueError(f"shmring.Ring {r._name!r} was closed while waiting")
            if deadline is None:
                ns = _SLICE_NS
            else:
                left = deadline - _monotonic()
                if left <= 0:
                    return _ETIMEDOUT
                ns = min(_SLICE_NS, max(1, int(left * 1e9)))
            rc = call(ns)
            if rc != _ETIMEDOUT:
                return rc

    def _slot_view(self, addr: int, n: int, writable: bool) -> memoryview:
        """A memoryview of n bytes at addr inside the library's mapping of
        the ring, taken from the Ring's own mapping of the same object (an
        mmap of the ring's descriptor, made at the first call): a view, a
        slice of it or a numpy array over it holds that mmap, which is
        unmapped only when the last of them goes. close() unmaps the
        library's mapping whatever the views do; a view straight over it
        (PyMemoryView_FromMemory) read after close(), or after the Ring
        was collected, was a SIGSEGV."""
        rw = self._map_rw
        if rw is None:
            fd = lib.shmring_fd(self._h)
            if fd < 0:
                raise self._error(fd, "fileno")
            flags = mmap.MAP_SHARED
            if self._flags & _capi.PREFAULT:
                flags |= getattr(mmap, "MAP_POPULATE", 0)
            mm = mmap.mmap(fd, self._mem_size, flags=flags,
                           prot=mmap.PROT_READ | mmap.PROT_WRITE)
            # struct shmring's first field is hdr, the start of the library's
            # mapping (handle.h: offset 0, pinned for the inline fast paths)
            self._map_base = c_void_p.from_address(self._h).value or 0
            rw = self._map_rw = memoryview(mm)
            self._map_ro = rw.toreadonly()
        off = addr - self._map_base if addr else 0   # (an empty message may have no address)
        if not 0 <= off <= self._mem_size - n:
            raise RuntimeError(f"shmring: a slot outside the ring's mapping ({off}+{n} "
                               f"of {self._mem_size} bytes)")
        return (rw if writable else self._map_ro)[off:off + n]

    def _unmap_views(self) -> None:
        """Drop the Ring's own mapping (close()): unmapped now when no view
        of it is left, else when the last one goes."""
        rw, ro = self._map_rw, self._map_ro
        if rw is None:
            return
        self._map_rw = self._map_ro = None
        mm = rw.obj
        ro.release()
        rw.release()
        try:
            mm.close()
        except BufferError:
            pass   # slices or arrays are left: they keep it mapped

    def _send_pending(self, data: BytesLike, timeout: Timeout) -> None:
        """send() while a reservation left uncommitted is outstanding: the
        message goes into that slot."""
        res = self._pending
        self._enter()
        try:
            with _Buffer(data, False) as (addr, n):
                if n > self._slot_size:
                    raise self._error(_EMSGSIZE, "send",
                                      f"{n} bytes, slot size {self._slot_size}")
                ctypes.memmove(res._slot.data, addr, n)
        finally:
            self._inflight = 0
        res.commit(n)

    # -- copying send / recv --

    def send(self, data: BytesLike, timeout: Timeout = None) -> None:
        """Send one message: any C-contiguous bytes-like object (bytes,
        bytearray, memoryview, array.array, a numpy array), up to slot_size
        bytes; zero-length messages are messages.

        BlockingIOError (timeout 0, full), TimeoutError, BrokenPipeError
        (this Ring shut down, or every consumer gone while the ring is
        full), MessageSizeError, RingValueError (not a producer)."""
        t = _T_SLICE if timeout is None else _c_ns(timeout)
        if self._pending is not None:
            return self._send_pending(data, timeout)
        if self._inflight:
            raise self._busy()
        self._inflight = _get_ident()
        try:
            if data.__class__ is bytes:
                n = len(data)
                cl = _LENS.get(n)
                rc = _send_raw(self._hc, data, _clen(n) if cl is None else cl, t)
                if rc == _ETIMEDOUT and t is _T_SLICE:
                    h, cl = self._hc, _clen(n)
                    rc = self._wait(lambda ns: _send_raw(h, data, cl, c_int64(ns)),
                                    timeout, _SLICE_NS)
            else:
                with _Buffer(data, False) as (addr, n):
                    h, p, cl = self._hc, c_void_p(addr), _clen(n)
                    rc = _send_raw(h, p, cl, t)
                    if rc == _ETIMEDOUT and t is _T_SLICE:
                        rc = self._wait(lambda ns: _send_raw(h, p, cl, c_int64(ns)),
                                        timeout, _SLICE_NS)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "send", f"{n} bytes, slot size {self._slot_size}"
                              if rc == _EMSGSIZE else "")

    def recv(self, timeout: Timeout = None) -> bytes:
        """Receive one message as bytes.

        BlockingIOError (timeout 0, empty), TimeoutError, BrokenPipeError
        (end of stream: every producer that attached shut down, and the
        ring is drained), StreamAborted (a BrokenPipeError: the same, but a
        producer aborted, or died or closed without shutdown),
        CorruptMessageError (a corrupt slot was skipped; receive again),
        RingValueError (not a consumer)."""
        t = _T_SLICE if timeout is None else _c_ns(timeout)
        if self._inflight:
            raise self._busy()
        self._inflight = _get_ident()
        try:
            rc = _recv_raw(self._hc, self._scratch_p, self._scratch_cap, t)
            if rc >= 0:
                return self._scratch[:rc]
            if rc == _ETIMEDOUT and t is _T_SLICE:
                h, p, cap = self._hc, self._scratch_p, self._scratch_cap
                rc = self._wait(lambda ns: _recv_raw(h, p, cap, c_int64(ns)), timeout, _SLICE_NS)
                if rc >= 0:
                    return self._scratch[:rc]
            if rc == _EMSGSIZE and self._scratch_cap.value < self._slot_size:
                return self._recv_big(timeout)
        finally:
            self._inflight = 0
        raise self._error(rc, "recv")

    def _recv_big(self, timeout: Timeout) -> bytes:
        """recv() of a message larger than the scratch buffer: copy it out
        of its slot, between acquire and release. On an OVERWRITE ring the
        producer may overwrite the slot during the copy: release then
        returns -ESTALE (the library counts the message as an overrun), the
        copy is discarded and the next message is received instead; a torn
        message is never returned."""
        deadline = None if timeout is None else _monotonic() + timeout
        s = _capi.Slot()
        h, ps = self._h, byref(s)
        while True:
            rc = _acquire(h, ps, 0)   # the first time it is there: recv said how big
            if rc == _EAGAIN and timeout != 0:
                rc = self._until(lambda ns: _acquire(h, ps, c_int64(ns)), deadline)
            if rc < 0:
                raise self._error(rc, "recv")
            data = _string_at(s.data, s.len) if s.len else b""
            rc = _release(h, ps)
            if rc == 0:
                return data
            if rc != _ESTALE:
                raise self._error(rc, "recv")

    def recv_into(self, buffer: Union[bytearray, memoryview], timeout: Timeout = None) -> int:
        """Receive one message into a writable, C-contiguous buffer
        (bytearray, memoryview, array.array, numpy array) and return its
        length in bytes. MessageSizeError when the buffer is too small (the
        message stays in the ring); otherwise as recv()."""
        t = _first_ns(timeout)
        self._enter()
        try:
            h = self._h
            with _Buffer(buffer, True) as (addr, cap):
                rc = _recv(h, addr, cap, t)
                if rc == _ETIMEDOUT and t == _SLICE_NS:
                    rc = self._wait(lambda ns: _recv(h, addr, cap, ns), timeout, t)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "recv_into", f"buffer of {cap} bytes" if rc == _EMSGSIZE else "")
        return rc

    # -- bursts --

    def send_many(self, messages: Iterable[BytesLike], timeout: Timeout = None) -> int:
        """Send messages in order, in bursts (shmring_send_burst: many
        messages per index publication), and return how many were sent.

        Waits for room as ``timeout`` says, the timeout covering the whole
        call. Returns the full count, or fewer when the ring stayed full
        after at least one was sent (timeout 0 or expired); raises
        BlockingIOError / TimeoutError when none could be sent.
        A message larger than slot_size raises MessageSizeError before any
        message of its round (up to 1024 messages or 256 KiB of slots) is
        sent."""
        _first_ns(timeout)   # checks it
        deadline = None if not timeout else _monotonic() + timeout
        it = iter(messages)
        sent = 0
        if self._pending is not None:
            first = next(it, None)
            if first is None:
                return 0
            self._send_pending(first, timeout)
            sent = 1
        # rounds of at most _SEND_CHUNK messages and about _RECV_MANY_BYTES
        # (the joined copy stays in cache on its way into the slots)
        chunk = min(self._slots, _SEND_CHUNK, _RECV_MANY_BYTES // self._slot_size or 1)
        while True:
            batch = list(islice(it, chunk))
            if not batch:
                return sent
            joined = b"".join(batch)
            lens = list(map(len, batch))
            if sum(lens) != len(joined):   # memoryviews of items wider than a byte
                lens = [memoryview(m).nbytes for m in batch]
            n = len(lens)
            big = max(lens)
            if big > self._slot_size:
                raise self._error(_EMSGSIZE, "send_many",
                                  f"a message of {big} bytes, slot size {self._slot_size}")
            base = ctypes.cast(joined, c_void_p).value or 0
            iov = array("Q", bytes(16 * n))
            iov[0::2] = array("Q", accumulate(lens[:-1], initial=base))
            iov[1::2] = array("Q", lens)
            iov_addr = iov.buffer_info()[0]
            done = 0
            if self._inflight:
                raise self._busy()
            self._inflight = _get_ident()
            try:
                h = self._hc
                while done < n:
                    p, k = c_void_p(iov_addr + 16 * done), n - done
                    if timeout == 0:
                        rc = _send_burst_raw(h, p, k, _T_ZERO)
                    else:
                        rc = _send_burst_raw(h, p, k, _T_SLICE if deadline is None else _T_ONE)
                        if rc == _ETIMEDOUT:
                            rc = self._until(lambda ns: _send_burst_raw(h, p, k, c_int64(ns)),
                                             deadline)
                    if rc < 0:
                        if sent + done > 0 and rc in (_EAGAIN, _ETIMEDOUT):
                            return sent + done
                        raise self._error(rc, "send_many")
                    done += rc
            finally:
                self._inflight = 0
            sent += n

    def _recv_many_buffers(self, n: int) -> tuple:
        """recv_many()'s buffer of n slots and its iovec array, kept between
        calls (the lengths are reset before each call)."""
        rm = self._rmany
        if rm is None or rm[0] < n:
            ss = self._slot_size
            buf = ctypes.create_string_buffer(ss * n)
            base = ctypes.addressof(buf)
            iov = array("Q", bytes(16 * n))
            iov[0::2] = array("Q", range(base, base + ss * n, ss))
            lens = array("Q", [ss]) * n
            rm = self._rmany = (n, buf, memoryview(buf).cast("B"), iov,
                                c_void_p(iov.buffer_info()[0]), lens)
        return rm

    def recv_many(self, max: int, timeout: Timeout = None) -> List[bytes]:
        """Receive up to ``max`` messages in one burst (shmring_recv_burst)
        and return them as a list of bytes: waits (per ``timeout``) for at
        least one, then takes what is there, up to max (and up to the
        ring's size, and to 256 KiB of slots per call).

        Raises as recv(): BlockingIOError, TimeoutError, BrokenPipeError at
        the end of the stream (StreamAborted when it did not end cleanly)."""
        t = _T_SLICE if timeout is None else _c_ns(timeout)
        ss = self._slot_size
        n = min(max, self._slots, _RECV_MANY_BYTES // ss or 1)
        if n < 1:
            raise ValueError(f"recv_many: max must be >= 1, not {max}")
        cap, buf, mv, iov, iov_p, lens = self._recv_many_buffers(n)
        if self._inflight:
            raise self._busy()
        self._inflight = _get_ident()
        try:
            iov[1:2 * n:2] = lens if n == cap else lens[:n]
            rc = _recv_burst_raw(self._hc, iov_p, n, t)
            if rc == _ETIMEDOUT and t is _T_SLICE:
                h = self._hc
                rc = self._wait(lambda ns: _recv_burst_raw(h, iov_p, n, c_int64(ns)),
                                timeout, _SLICE_NS)
            if rc > 0:
                got = iov[1:2 * rc:2]
                if ss <= 256:   # (measured: the faster copy for each size)
                    return [buf[o:o + m] for o, m in zip(range(0, rc * ss, ss), got)]
                return [mv[o:o + m].tobytes() for o, m in zip(range(0, rc * ss, ss), got)]
        finally:
            self._inflight = 0
        raise self._error(rc, "recv_many")

    # -- zero-copy --

    def _slot_call(self, fn, timeout: Timeout, what: str) -> "_capi.Slot":
        """One zero-copy hand-out (fn: the C reserve or acquire entry point),
        waiting per ``timeout`` as the other calls do; the filled Slot, or
        the call's exception."""
        t = _first_ns(timeout)
        s = _capi.Slot()
        ps = byref(s)
        self._enter()
        try:
            h = self._h
            rc = fn(h, ps, t)
            if rc == _ETIMEDOUT and t == _SLICE_NS:
                rc = self._wait(lambda ns: fn(h, ps, ns), timeout, t)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, what)
        return s

    def reserve(self, timeout: Timeout = None) -> Reservation:
        """Reserve the next slot for writing in place; see Reservation.
        Errors as send()."""
        if self._pending is not None:
            res = self._pending
            self._pending = None
            res.view = self._slot_view(res._slot.data, self._slot_size, True)
            return res
        s = self._slot_call(_reserve, timeout, "reserve")
        res = self._reservation = Reservation(self, s, memoryview(b""))
        try:
            res.view = self._slot_view(s.data, self._slot_size, True)
        except BaseException:
            self._pending = res   # kept for the next reserve()/send(), as after a with block
            raise
        return res

    def acquire(self, timeout: Timeout = None) -> Acquisition:
        """Hold the next message in place for reading; see Acquisition.
        ``with ring.acquire() as view:`` gives a read-only memoryview.
        Errors as recv(), and RingValueError while another acquisition of
        this Ring is not released."""
        s = self._slot_call(_acquire, timeout, "acquire")
        try:
            view = self._slot_view(s.data, s.len, False)
        except BaseException:
            _release(self._h, byref(s))   # the message is consumed, as when a block fails
            raise
        acq = self._acquired = Acquisition(self, s, view)
        return acq

    # -- iteration --

    def __iter__(self) -> Iterator[bytes]:
        """``for msg in ring:`` receives (as recv()) until the end of the
        stream. The loop ends quietly only when the stream ended cleanly
        (every producer shut down); otherwise, once what was committed has
        been received, it raises StreamAborted (``e.reason``:
        EndReason.ABORTED or EndReason.DIED)."""
        scratch = self._scratch
        while True:
            # recv()'s first attempt, inline; anything else goes through recv()
            if self._inflight:
                raise self._busy()
            self._inflight = _get_ident()
            try:
                rc = _recv_raw(self._hc, self._scratch_p, self._scratch_cap, _T_SLICE)
                if rc >= 0:
                    msg = scratch[:rc]
            finally:
                self._inflight = 0
            if rc < 0:
                try:
                    msg = self.recv()
                except StreamAborted:
                    raise                    # not a clean end: say so
                except BrokenPipeError:
                    return
            yield msg

    # -- stream control, inspection --

    def shutdown(self) -> None:
        """Producer: end of stream, complete. Later sends raise
        BrokenPipeError; consumers drain what was sent, then get
        BrokenPipeError (their iteration ends; end_reason CLEAN once every
        producer did so). Idempotent; after abort() it changes nothing."""
        self._end_stream(lib.shmring_shutdown, "shutdown")

    def abort(self) -> None:
        """Producer: end the stream as incomplete (an interrupted or failed
        source). Consumers drain what was sent, then their iteration
        raises StreamAborted and end_reason says EndReason.ABORTED. Later
        sends raise BrokenPipeError. Idempotent; RingValueError after
        shutdown() (the stream was already declared complete). A ``with``
        block left by an exception aborts by itself."""
        self._end_stream(lib.shmring_abort, "abort")

    def _end_stream(self, fn, op: str) -> None:
        """shutdown() or abort() (fn: the C call)."""
        self._enter()
        try:
            rc = fn(self._h)
            if rc == 0 and self._kind in (_capi.SPSC, _capi.BROADCAST) \
                    and self._pending is not None:
                # SPSC, broadcast: the reservation can no longer be published (-EPIPE)
                self._pending.committed = True
                self._reservation = self._pending = None
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, op)

    def set_spin(self, ns: int) -> None:
        """This Ring's wait policy: spin ``ns`` nanoseconds before sleeping;
        0 = sleep at once; < 0 = never sleep (pure polling). The default
        (without a call) is 20 µs, or 0 on a single CPU."""
        self._enter()
        try:
            rc = lib.shmring_set_spin(self._h, int(ns))
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "set_spin")

    def info(self) -> RingInfo:
        """Configuration, indices, attached peers, end-of-stream state."""
        inf = _capi.Info()
        self._enter()
        try:
            rc = lib.shmring_info(self._h, byref(inf))
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "info")
        return RingInfo(
            kind=_KIND_NAMES.get(inf.kind, str(inf.kind)), slot_size=inf.slot_size,
            slots=inf.slots, mem_size=inf.mem_size, prod_idx=inf.prod_idx,
            cons_idx=inf.cons_idx, used=inf.used, roles=inf.roles,
            nproducers=inf.nproducers, nconsumers=inf.nconsumers, eof=bool(inf.eof),
            shutdowns=inf.shutdowns, stream_epoch=inf.stream_epoch,
            stream_ended=bool(inf.stream_ended), consumer_attaches=inf.consumer_attaches,
            prod_deaths=inf.prod_deaths, cons_deaths=inf.cons_deaths,
            creator_pid=inf.creator_pid, created_ns=inf.created_ns,
            producers=_peers(inf.producers, inf.nproducers),
            consumers=_peers(inf.consumers, inf.nconsumers), spin_ns=inf.spin_ns,
            flags=inf.flags, data_size=inf.data_size)

    def subscribers(self) -> List[Subscriber]:
        """A broadcast ring's subscribers, in registry order: position, lag,
        messages delivered and lost, alive, and ``stalling`` for the one a
        lossless producer waits for. Any role may ask (``None`` too). A
        snapshot of shared memory, for display. RingValueError on a ring of
        another kind."""
        arr = (_capi.Subscriber * _capi.MAX_PEERS)()
        self._enter()
        try:
            rc = lib.shmring_subscriber_info(self._h, arr, _capi.MAX_PEERS)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "subscribers")
        return _subscribers(arr, rc)

    def stats(self) -> RingStats:
        """Counters of the ring (all handles together; on a broadcast
        subscriber, ``received`` and ``overruns`` are its own)."""
        st = _capi.Stats()
        self._enter()
        try:
            rc = lib.shmring_stats(self._h, byref(st))
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "stats")
        return RingStats(**{f: getattr(st, f) for f, _ in _capi.Stats._fields_})


def _role_name(roles: int) -> Optional[str]:
    return {0: None, _capi.PRODUCER: "producer", _capi.CONSUMER: "consumer",
            _capi.PRODUCER | _capi.CONSUMER: "both"}.get(roles, str(roles))
