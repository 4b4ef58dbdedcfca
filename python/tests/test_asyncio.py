# SPDX-License-Identifier: MIT
"""asyncio: await ring.recv_async() / ring.send_async() and ``async for`` over
the ring's event descriptor, with the peer in another process."""
import asyncio
import subprocess

import pytest

import shmring
from shmring import Ring

from conftest import spawn_python

N = 1000

PRODUCER = r"""
import sys, shmring
name, n, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with shmring.Ring.open(name, role="producer") as p:
    for i in range(n):
        p.send(b"%06d" % i)
    if how == "shutdown":
        p.shutdown()
    else:
        p.abort()
"""

CONSUMER = r"""
import sys, shmring
name, n = sys.argv[1], int(sys.argv[2])
got = 0
with shmring.Ring.open(name, role="consumer") as c:
    for i, msg in enumerate(c):
        assert msg == b"%06d" % i, (i, msg)
        got += 1
sys.exit(0 if got == n else 3)
"""


def test_recv_async_from_another_process(name):
    """An asyncio program receives 1,000 messages from another process with
    await ring.recv_async(), in order, then the clean end (BrokenPipeError)."""
    with Ring.create(name, slots=16, slot_size=32, role="consumer") as c:
        proc = spawn_python(PRODUCER, name, str(N), "shutdown")

        async def main():
            got = [await c.recv_async() for _ in range(N)]
            with pytest.raises(BrokenPipeError) as e:
                await c.recv_async()
            assert not isinstance(e.value, shmring.StreamAborted)
            return got

        got = asyncio.run(asyncio.wait_for(main(), 30))
        assert proc.wait(20) == 0
    assert got == [b"%06d" % i for i in range(N)]


def test_async_for_ends_quietly_only_on_a_clean_end(name):
    for how in ("shutdown", "abort"):
        with Ring.create(name, slots=8, slot_size=32, role="consumer") as c:
            proc = spawn_python(PRODUCER, name, str(N), how)

            async def main():
                return [m async for m in c]

            if how == "shutdown":
                got = asyncio.run(asyncio.wait_for(main(), 30))
                assert got == [b"%06d" % i for i in range(N)]
            else:
                with pytest.raises(shmring.StreamAborted) as e:
                    asyncio.run(asyncio.wait_for(main(), 30))
                assert e.value.reason == shmring.EndReason.ABORTED
            assert proc.wait(20) == 0
        Ring.unlink(name)


def test_send_async_waits_for_room_without_blocking_the_loop(name):
    """A ring of 4 slots and a consumer in another process: send_async() waits
    for room while another coroutine of the same loop keeps running."""
    with Ring.create(name, slots=4, slot_size=32, role="producer") as p:
        proc = spawn_python(CONSUMER, name, str(N), stdout=subprocess.DEVNULL)
        ticks = 0

        async def ticker(stop):
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        async def main():
            stop = asyncio.Event()
            t = asyncio.create_task(ticker(stop))
            for i in range(N):
                await p.send_async(b"%06d" % i)
            p.shutdown()
            stop.set()
            await t

        asyncio.run(asyncio.wait_for(main(), 30))
        assert proc.wait(20) == 0
    assert ticks > 0, "the loop never ran the other coroutine"


def test_recv_async_many_waiters_one_loop(name):
    """Two rings awaited at once by one loop (gather): each gets its own."""
    other = name + "-b"
    try:
        with Ring.create(name, slots=8, slot_size=32, role="consumer") as a, \
             Ring.create(other, slots=8, slot_size=32, role="consumer") as b:
            pa = spawn_python(PRODUCER, name, "50", "shutdown")
            pb = spawn_python(PRODUCER, other, "70", "shutdown")

            async def drain(r):
                return [m async for m in r]

            async def main():
                return await asyncio.gather(drain(a), drain(b))

            ga, gb = asyncio.run(asyncio.wait_for(main(), 30))
            assert len(ga) == 50 and len(gb) == 70
            assert pa.wait(20) == 0 and pb.wait(20) == 0
    finally:
        try:
            Ring.unlink(other)
        except FileNotFoundError:
            pass
