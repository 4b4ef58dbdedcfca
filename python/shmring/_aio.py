# SPDX-License-Identifier: MIT
"""asyncio for a Ring: await a message, or room for one, without a thread.

The ring's event descriptor (shmring_event_fd(3)) sits in the event loop's
selector: a coroutine tries the call without waiting (timeout 0); when the
ring is empty (full) it arms the descriptor (shmring_arm) and awaits it
becoming readable, then tries again. The library's watcher thread turns the
ring's futex wake-ups into that readability, so a waiting coroutine costs
the loop nothing.

Cancelling an await leaves the descriptor armed until the ring can make
progress; until then use the Ring only through its async calls, or close it
(the C library forbids other calls on an armed handle).
"""
from __future__ import annotations

import asyncio
from typing import AsyncIterator, Union

from ._capi import lib
from ._errors import StreamAborted

BytesLike = Union[bytes, bytearray, memoryview]


class AsyncRing:
    """The async half of shmring.Ring (a mixin: Ring inherits it)."""
    __slots__ = ()

    async def _until_ready(self) -> None:
        """Arm the event descriptor and wait until it says the ring can make
        progress (or return at once when it already can)."""
        self._enter()
        try:
            fd = self._event_fd
            if fd is None:
                fd = lib.shmring_event_fd(self._h)
                if fd < 0:
                    raise self._error(fd, "event_fd")
                self._event_fd = fd
            rc = lib.shmring_arm(self._h)
        finally:
            self._inflight = 0
        if rc < 0:
            raise self._error(rc, "arm")
        if rc == 1:
            return   # ready already: try again at once
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    async def recv_async(self) -> bytes:
        """Receive one message (``await ring.recv_async()``): as recv(),
        without blocking the event loop. BrokenPipeError at a clean end of
        the stream, StreamAborted (a BrokenPipeError) at any other end."""
        while True:
            try:
                return self.recv(0)
            except BlockingIOError:
                pass   # empty (or another consumer was first): wait
            await self._until_ready()

    async def send_async(self, data: BytesLike) -> None:
        """Send one message (``await ring.send_async(b"...")``): as send(),
        without blocking the event loop while the ring is full."""
        while True:
            try:
                return self.send(data, 0)
            except BlockingIOError:
                pass   # full: wait for room
            await self._until_ready()

    def __aiter__(self) -> AsyncIterator[bytes]:
        """``async for msg in ring:``: receives until the end of the stream;
        ends quietly only on a clean end, else raises StreamAborted (as the
        plain iteration does)."""
        return self._messages()

    async def _messages(self) -> AsyncIterator[bytes]:
        while True:
            try:
                msg = await self.recv_async()
            except StreamAborted:
                raise
            except BrokenPipeError:
                return
            yield msg
