# SPDX-License-Identifier: MIT
"""shmring's negative errno return codes as Python exceptions.

Every exception is an :class:`OSError` whose ``errno`` is the code, whose
``strerror`` names the operation and the library's description
(``shmring_strerror``), and whose ``filename`` is the ring's name, so
``str(e)`` reads ``[Errno 110] recv: timed out: '/frames'``.

=====================  ==============================================
code                   exception
=====================  ==============================================
-EAGAIN                BlockingIOError (timeout 0: full or empty)
-ETIMEDOUT             TimeoutError
-EPIPE                 BrokenPipeError (end of stream), StreamAborted
                       (a BrokenPipeError) for a consumer when the
                       stream did not end cleanly (aborted, or a
                       producer died or closed without shutdown)
-EACCES, -EPERM        PermissionError
-EEXIST                FileExistsError
-ENOENT                FileNotFoundError
-EINVAL                RingValueError (an OSError and a ValueError)
-EMSGSIZE              MessageSizeError (a RingValueError)
-EPROTO                ProtocolError (not a ring, another layout
                       version, corrupt shared indices)
-EBADMSG               CorruptMessageError (a ProtocolError; the slot
                       was skipped, the ring stays usable)
others (-EBUSY, ...)   OSError, or the subclass Python itself maps
                       the errno to (NotADirectoryError, ...)
=====================  ==============================================
"""
from __future__ import annotations

import enum
import errno as _errno
from typing import Optional

from . import _capi


class EndReason(enum.IntEnum):
    """How a stream ended (shmring_end_reason(); ``Ring.end_reason``)."""
    CLEAN = _capi.END_CLEAN      #: every producer that attached called shutdown()
    ABORTED = _capi.END_ABORTED  #: a producer called abort(): the stream is incomplete
    DIED = _capi.END_DIED        #: a producer died, closed, exec'd or vanished without
    #: shutting down: the stream may be incomplete


class StreamAborted(BrokenPipeError):
    """The end of a stream that did not end cleanly: a producer aborted
    (``Ring.abort()``), or died, closed or exec'd without ``shutdown()``.
    What was committed before the end was received; the stream may be
    incomplete. Raised where a consumer reaches the end of the stream
    (iteration, recv, recv_into, recv_many, acquire). A BrokenPipeError
    (errno EPIPE), so code that stops at BrokenPipeError still stops.

    ``reason``: EndReason.ABORTED or EndReason.DIED, or None when a new
    stream began on the ring before this one's reason could be read."""

    def __init__(self, *args: object, reason: Optional[EndReason] = None) -> None:
        super().__init__(*args)
        self.reason = reason


class RingValueError(OSError, ValueError):
    """-EINVAL: a bad name, configuration, role or argument."""


class MessageSizeError(RingValueError):
    """-EMSGSIZE: a message larger than the slot size (send), or a buffer
    too small for the next message (recv; the message stays in the ring)."""


class ProtocolError(OSError):
    """-EPROTO: not a shmring, a layout version this library does not speak,
    or shared indices found corrupt."""


class CorruptMessageError(ProtocolError):
    """-EBADMSG: a slot's contents were corrupt; it was skipped and counted
    in ``stats().bad_msgs``; the ring stays usable."""


for _cls in (EndReason, StreamAborted, RingValueError, MessageSizeError, ProtocolError,
             CorruptMessageError):
    _cls.__module__ = "shmring"

_MAP: dict[int, type[OSError]] = {
    _errno.EAGAIN: BlockingIOError,
    _errno.ETIMEDOUT: TimeoutError,
    _errno.EPIPE: BrokenPipeError,
    _errno.EACCES: PermissionError,
    _errno.EPERM: PermissionError,
    _errno.EEXIST: FileExistsError,
    _errno.ENOENT: FileNotFoundError,
    _errno.EINVAL: RingValueError,
    _errno.EMSGSIZE: MessageSizeError,
    _errno.EPROTO: ProtocolError,
    _errno.EBADMSG: CorruptMessageError,
}


def error(rc: int, name: Optional[str], op: str, hint: str = "") -> OSError:
    """The exception for the negative return code ``rc`` of operation ``op``
    on the ring ``name``."""
    err = -rc if rc < 0 else rc
    text = f"{op}: {_capi.strerror(err)}"
    if hint:
        text += f" ({hint})"
    cls = _MAP.get(err, OSError)   # OSError itself maps other errnos
    if name is None:
        return cls(err, text)
    return cls(err, text, name)


def stream_aborted(reason: Optional[EndReason], name: Optional[str], op: str) -> StreamAborted:
    """The exception for a consumer's end of stream that was not clean."""
    why = {EndReason.ABORTED: "a producer aborted it",
           EndReason.DIED: "a producer died or closed without shutdown"}.get(
        reason, "a new stream began before its end reason was read")
    text = f"{op}: the stream ended without a clean shutdown: {why} (it may be incomplete)"
    args = (_errno.EPIPE, text) if name is None else (_errno.EPIPE, text, name)
    return StreamAborted(*args, reason=reason)
