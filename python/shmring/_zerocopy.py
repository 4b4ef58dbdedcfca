# SPDX-License-Identifier: MIT
"""Zero-copy: a Reservation (Ring.reserve(), then commit()) and an
Acquisition (Ring.acquire(), then release()), each holding a memoryview of
the shared slot, and how such a view is given up."""
from __future__ import annotations

import errno as _errno
from ctypes import byref
from typing import TYPE_CHECKING

from . import _capi
from ._capi import lib

if TYPE_CHECKING:
    from ._ring import Ring

_commit = lib.shmring__commit_slow
_release = lib.shmring__release_slow
_EMSGSIZE, _ESTALE = -_errno.EMSGSIZE, -_errno.ESTALE


# -- zero-copy -------------------------------------------------------------

class Reservation:
    """A slot reserved for writing in place (Ring.reserve()).

    ``view`` is a writable memoryview of the whole slot (``slot_size``
    bytes); fill a prefix of it, then ``commit(n)`` publishes those n bytes
    as one message. Used as a context manager::

        with ring.reserve() as slot:
            slot.view[:5] = b"hello"
            slot.commit(5)

    Slices of ``view`` (and numpy arrays over it) kept after commit() stay
    writable memory of the ring (never a crash, also after close()), but
    the slot is then the consumers' and, later, the next message's: do not
    keep them.

    Leaving the block without commit() does not publish anything: the slot
    stays reserved by the Ring and is reused by its next reserve(), send()
    or send_many() (the C API has no way to give a reservation back). On an
    MPMC ring, consumers that reach that slot wait until then, or until the
    Ring is closed (the library then skips the slot).
    """
    __slots__ = ("_ring", "_slot", "view", "committed")

    def __init__(self, ring: "Ring", slot: _capi.Slot, view: memoryview) -> None:
        self._ring = ring
        self._slot = slot
        self.view: memoryview = view   #: writable, slot_size bytes, valid until commit
        self.committed = False

    def __len__(self) -> int:
        return self.view.nbytes

    def commit(self, n: int) -> None:
        """Publish the first n bytes of the slot as a message (0 <= n <=
        slot_size). The view is released: it must not be used afterwards.
        MessageSizeError (n > slot_size; the reservation stays),
        BrokenPipeError (SPSC: the producer shut down meanwhile)."""
        if self.committed:
            raise ValueError(f"{self._ring._name!r}: this reservation was already committed")
        if n < 0:
            raise ValueError(f"commit length must be >= 0, not {n}")
        ring = self._ring
        ring._enter()
        try:
            rc = _commit(ring._h, byref(self._slot), n)
            if rc == _EMSGSIZE:
                raise ring._error(rc, "commit", f"{n} bytes in a slot of {ring._slot_size}")
            self.committed = True   # or refused for good (-EPIPE: shut down)
            ring._reservation = ring._pending = None
            _drop_view(self.view)
            if rc < 0:
                raise ring._error(rc, "commit")
        finally:
            ring._inflight = 0

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed and self._ring._reservation is self:
            # nothing to give back in C: keep it for the next reserve/send
            _drop_view(self.view)
            self._ring._pending = self


class Acquisition:
    """A message held in place for reading (Ring.acquire()).

    Used as a context manager, it gives the read-only memoryview of the
    message and releases the slot when the block ends (also on an
    exception: the message is consumed either way)::

        with ring.acquire() as view:
            arr = numpy.frombuffer(view, dtype=numpy.float32)  # no copy
            total += arr.sum()

    The view is released with the slot. Slices of it and anything made
    from it without a copy (numpy arrays) stay readable, also after the
    Ring is closed or collected (they keep the Ring's second mapping of the
    ring alive; reading them never crashes), but once the slot is released
    they show whatever the producer writes there next: copy what you keep
    (``bytes(view)``, ``arr.copy()``).

    On a SHMRING_OVERWRITE ring the producer may overwrite the message
    while it is held: release() then raises OSError ESTALE (the message
    counts in ``stats().overruns``) and what was read must be discarded.
    """
    __slots__ = ("_ring", "_slot", "view", "released")

    def __init__(self, ring: "Ring", slot: _capi.Slot, view: memoryview) -> None:
        self._ring = ring
        self._slot = slot
        self.view: memoryview = view   #: read-only, the message's bytes
        self.released = False

    def __len__(self) -> int:
        return self.view.nbytes

    def release(self) -> None:
        """Give the slot back to the producer. Idempotent."""
        if self.released:
            return
        ring = self._ring
        _drop_view(self.view)
        ring._enter()
        try:
            self.released = True
            ring._acquired = None
            rc = _release(ring._h, byref(self._slot))
            if rc < 0:
                raise ring._error(rc, "release", "the producer overwrote the message while "
                                  "it was acquired: discard what was read from it"
                                  if rc == _ESTALE else "")
        finally:
            ring._inflight = 0

    def __enter__(self) -> memoryview:
        return self.view

    def __exit__(self, *exc: object) -> None:
        self.release()


def _drop_view(view: memoryview) -> None:
    """Invalidate a view of a slot; buffers exported from it (numpy arrays)
    keep it alive, and then they are the caller's to drop (they hold the
    Ring's mapping, never the library's: see Ring._slot_view)."""
    try:
        view.release()
    except BufferError:
        pass
