# SPDX-License-Identifier: MIT
"""What Ring.info(), Ring.stats() and Ring.subscribers() return: frozen
dataclasses mirroring struct shmring_info, struct shmring_peer,
struct shmring_stats and struct shmring_subscriber."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import List

from . import _capi


# -- dataclasses mirroring struct shmring_info / shmring_stats ------------

@dataclass(frozen=True)
class Peer:
    """An attachment (struct shmring_peer)."""
    pid: int            #: the holder's pid in its own PID namespace (display only)
    alive: bool         #: its kernel lock is held: the handle is open in a running process
    shut_down: bool     #: a producer that called shutdown()
    other_pidns: bool   #: pid is another PID namespace's number
    index: int          #: registry entry, 0..63


@dataclass(frozen=True)
class RingInfo:
    """What shmring_info() reports (struct shmring_info)."""
    kind: str                 #: "spsc", "mpmc" or "broadcast"
    slot_size: int            #: largest message, bytes
    slots: int
    mem_size: int             #: bytes of the shared object
    prod_idx: int             #: producer index (SPSC: published; MPMC: claimed)
    cons_idx: int             #: consumer index (SPSC: released; MPMC: claimed;
    #: broadcast: the slowest subscriber's position)
    used: int                 #: prod_idx - cons_idx, clamped to slots (broadcast: the largest lag)
    roles: int                #: roles of this handle: PRODUCER | CONSUMER bits
    nproducers: int
    nconsumers: int
    eof: bool                 #: every producer that attached is gone or shut down
    shutdowns: int
    stream_epoch: int
    stream_ended: bool
    consumer_attaches: int
    prod_deaths: int
    cons_deaths: int
    creator_pid: int
    created_ns: int           #: CLOCK_REALTIME, ns
    producers: List[Peer] = field(default_factory=list)
    consumers: List[Peer] = field(default_factory=list)
    spin_ns: int = -1         #: this handle's wait policy in force (-1: not decided yet)
    flags: int = 0            #: the ring's config flags (OVERWRITE, PACKED, MLOCK, ...;
    #: PACKED: prod_idx, cons_idx, used count bytes)
    data_size: int = 0        #: bytes of the slot array, or of a packed ring's record area


@dataclass(frozen=True)
class RingStats:
    """What shmring_stats() reports (struct shmring_stats)."""
    sent: int
    received: int
    sent_bytes: int
    recv_bytes: int
    full_waits: int
    empty_waits: int
    prod_wakes: int
    cons_wakes: int
    bad_msgs: int
    orphans: int
    abandoned: int
    membarriers: int
    overruns: int = 0   #: OVERWRITE rings: messages overwritten before they were read


@dataclass(frozen=True)
class Subscriber:
    """A subscriber of a broadcast ring (struct shmring_subscriber): a
    snapshot of shared memory, for display."""
    index: int          #: registry entry (the consumers[index] of RingInfo)
    pid: int            #: display only, as Peer.pid
    alive: bool         #: its kernel lock is held (a running process)
    self: bool          #: this Ring's own subscription
    stalling: bool      #: lossless ring: a whole ring behind, the producer waits for it
    position: int       #: the next message it reads
    lag: int            #: published messages it has not read, 0 .. slots
    start: int          #: its first position: it receives what was sent from there on
    delivered: int      #: messages it received
    overruns: int       #: messages it lost (OVERWRITE)


def _subscribers(arr: "ctypes.Array[_capi.Subscriber]", n: int) -> List[Subscriber]:
    return [Subscriber(s.index, s.pid, bool(s.alive), bool(s.self), bool(s.stalling),
                       s.position, s.lag, s.start, s.delivered, s.overruns)
            for s in arr[:min(n, len(arr))]]


def _peers(arr: "ctypes.Array[_capi.Peer]", n: int) -> List[Peer]:
    return [Peer(p.pid, bool(p.alive), bool(p.shut_down), bool(p.other_pidns), p.index)
            for p in arr[:min(n, _capi.MAX_PEERS)]]
