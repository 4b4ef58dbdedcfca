# SPDX-License-Identifier: MIT
"""shmring: message rings between processes in shared memory (Python binding).

A pure-Python package over the C library libshmring.so.3 (ctypes, no
compiler needed). The library is found through ``SHMRING_LIB`` (its path),
else the installed ``libshmring.so.3``, else ``../build/`` next to this
package in a source tree.

Example (two processes)::

    import shmring

    # producer
    with shmring.Ring.create("/frames", slots=64, slot_size=4096, role="producer") as r:
        for i in range(10):
            r.send(b"frame %d" % i)
        r.shutdown()                   # end of stream

    # consumer (another process)
    with shmring.Ring.open("/frames", role="consumer") as r:
        for msg in r:                  # ends at the end of the stream; raises
            print(msg)                 # StreamAborted if it did not end cleanly
    shmring.Ring.unlink("/frames")

Timeouts are seconds: None waits as long as it takes, 0 does not wait.
Errors are OSError subclasses carrying the errno and the ring's name; see
shmring._errors for the table.
"""
from ._capi import (CONSUMER, DEFAULT_SPIN_NS, HUGEPAGES, MAX_PEERS, MAX_SLOT_SIZE,
                    MAX_SLOTS, MLOCK, OVERWRITE, PACKED, POLL_MAX, POLLIN, POLLOUT, PREFAULT,
                    PRODUCER, SONAME, path as library_path, strerror)
from ._errors import (CorruptMessageError, EndReason, MessageSizeError, ProtocolError,
                      RingValueError, StreamAborted)
from ._info import Peer, RingInfo, RingStats, Subscriber
from ._poll import poll
from ._ring import Ring
from ._zerocopy import Acquisition, Reservation

__version__ = "3.2.0"   # the C library's version it is made for (include/shmring.h)

# how a stream ended (Ring.end_reason): the members of the IntEnum EndReason
END_CLEAN = EndReason.CLEAN
END_ABORTED = EndReason.ABORTED
END_DIED = EndReason.DIED

unlink = Ring.unlink

__all__ = [
    "Ring", "Reservation", "Acquisition", "RingInfo", "RingStats", "Peer", "Subscriber", "poll",
    "unlink",
    "strerror", "RingValueError", "MessageSizeError", "ProtocolError", "CorruptMessageError",
    "StreamAborted", "EndReason", "END_CLEAN", "END_ABORTED", "END_DIED",
    "PRODUCER", "CONSUMER", "POLLIN", "POLLOUT", "POLL_MAX", "PREFAULT", "HUGEPAGES", "MLOCK",
    "OVERWRITE", "PACKED",
    "MAX_PEERS", "MAX_SLOT_SIZE", "MAX_SLOTS", "DEFAULT_SPIN_NS", "SONAME", "library_path",
    "__version__",
]
