# SPDX-License-Identifier: MIT
"""shmring.poll(): many rings, one wait (shmring_poll(3))."""
from __future__ import annotations

import errno as _errno
from typing import List, Sequence, Tuple

from . import _capi
from ._capi import lib
from ._errors import error
from ._ring import Ring, Timeout, _SLICE_NS, _first_ns

_EAGAIN, _ETIMEDOUT = -_errno.EAGAIN, -_errno.ETIMEDOUT


# -- many rings, one wait --------------------------------------------------

def poll(items: Sequence[Tuple[Ring, int]], timeout: Timeout = None) -> List[Tuple[Ring, int]]:
    """Wait until at least one of the rings can make progress
    (shmring_poll). ``items``: (ring, events) pairs, events POLLIN (a
    consumer Ring: a message to receive, or the end of the stream) and/or
    POLLOUT (a producer Ring: room to send, or no consumer left). Returns
    the (ring, revents) pairs that are ready, in the order given; an empty
    list when the timeout expires (as select.select does). Level-triggered:
    receive (or send) with timeout 0 until BlockingIOError, then poll again.
    RingValueError for an event whose role the Ring does not hold."""
    items = list(items)
    n = len(items)
    if not 1 <= n <= _capi.POLL_MAX:
        raise ValueError(f"poll: 1 to {_capi.POLL_MAX} items, not {n}")
    arr = (_capi.PollItem * n)()
    rings: List[Ring] = []
    for i, (ring, events) in enumerate(items):
        if not isinstance(ring, Ring):
            raise TypeError(f"poll: items are (Ring, events) pairs, not {type(ring).__name__}")
        arr[i].events = events
        if ring not in rings:
            rings.append(ring)
    taken: List[Ring] = []
    try:
        for ring in rings:
            ring._enter()
            taken.append(ring)
        for i, (ring, _) in enumerate(items):
            arr[i].ring = ring._h
        t = _first_ns(timeout)
        rc = lib.shmring_poll(arr, n, t)
        if rc == _ETIMEDOUT and t == _SLICE_NS:
            rc = rings[0]._wait(lambda ns: lib.shmring_poll(arr, n, ns), timeout, t, rings[1:])
    finally:
        for ring in taken:
            ring._inflight = 0
    if rc in (_EAGAIN, _ETIMEDOUT):
        return []
    if rc < 0:
        names = ", ".join(repr(r._name) for r in rings)
        raise error(rc, None, f"poll ({names})")
    return [(ring, arr[i].revents) for i, (ring, _) in enumerate(items) if arr[i].revents]
