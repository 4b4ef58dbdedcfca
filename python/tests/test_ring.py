# SPDX-License-Identifier: MIT
"""The Ring API in one process: lifecycle, names, copying send/recv,
bursts, zero-copy, iteration, info/stats, poll, file and memfd rings."""
import array
import os
import pathlib
import threading
import time

import pytest

import shmring
from shmring import Ring


def test_create_open_close(name):
    with Ring.create(name, slots=8, slot_size=64) as r:
        assert (r.name, r.kind, r.slots, r.slot_size, r.role) == (name, "spsc", 8, 64, None)
        assert not r.closed
        assert "spsc" in repr(r)
        with Ring.open(name, role="producer") as p, Ring.open(name, role="consumer") as c:
            assert (p.role, c.role) == ("producer", "consumer")
            p.send(b"one")
            assert c.recv() == b"one"
    assert r.closed and "closed" in repr(r)
    r.close()   # idempotent


def test_name_forms(name):
    bare = name.lstrip("/")
    with Ring.create(bare, slots=2, slot_size=8, role="both") as r:   # '/' optional
        assert r.name == name
        r.send(b"a")
        with Ring.open(name.encode()) as o:                            # bytes
            assert o.info().used == 1


def test_both_roles_kinds_mpmc(name):
    with Ring.create(name, slots=4, slot_size=16, kind="mpmc", role="both") as r:
        assert r.kind == "mpmc" and r.role == "both"
        r.send(b"m1")
        r.send_many([b"m2", b"m3"])
        assert r.recv() == b"m1"
        assert r.recv_many(8) == [b"m2", b"m3"]
        with r.reserve() as slot:
            slot.view[:4] = b"zero"
            slot.commit(4)
        with r.acquire() as view:
            assert view == b"zero"
        with r.reserve():
            pass                              # left without commit: kept
        r.send(b"kept")
        assert list(r.recv_many(4)) == [b"kept"]
        assert r.stats().abandoned == 0


def test_packed_ring(name):
    from shmring import PACKED
    with Ring.create(name, slots=8, slot_size=100, role="both", flags=PACKED) as r:
        msgs = [bytes([i]) * i for i in range(101)]
        for m in msgs:                        # every length 0..slot_size, wrapping
            r.send(m)
            assert r.recv() == m
        info = r.info()
        assert info.kind == "spsc" and info.flags & PACKED and info.data_size == 800
        assert info.prod_idx % 8 == 0         # byte positions
        st = r.stats()
        assert st.sent == 101 and st.received == 101
        with r.reserve() as slot:
            assert len(slot.view) == 100
            slot.view[:3] = b"abc"
            slot.commit(3)
        with r.acquire() as view:
            assert view == b"abc"


def test_send_buffer_types(name):
    import numpy as np
    with Ring.create(name, slots=16, slot_size=64, role="both") as r:
        r.send(b"bytes")
        r.send(bytearray(b"bytearray"))
        r.send(memoryview(b"--memoryview--")[2:-2])          # read-only slice, no copy
        r.send(array.array("i", [1, 2, 3]))                    # 12 bytes
        r.send(memoryview(array.array("h", [7, 8])))           # itemsize 2: 4 bytes
        r.send(np.arange(4, dtype=np.uint16))
        r.send(b"")                                            # zero-length messages are messages
        got = [r.recv(timeout=0) for _ in range(7)]
        with pytest.raises(TypeError):
            r.send("text is not bytes")
    assert got[:3] == [b"bytes", b"bytearray", b"memoryview"]
    assert got[3] == array.array("i", [1, 2, 3]).tobytes()
    assert got[4] == array.array("h", [7, 8]).tobytes()
    assert got[5] == np.arange(4, dtype=np.uint16).tobytes()
    assert got[6] == b""


def test_recv_into(name):
    with Ring.create(name, slots=4, slot_size=32, role="both") as r:
        r.send(b"hello world")
        buf = bytearray(32)
        n = r.recv_into(buf)
        assert n == 11 and buf[:n] == b"hello world"
        r.send(b"abc")
        arr = array.array("B", bytes(8))
        assert r.recv_into(memoryview(arr)[2:]) == 3
        assert arr.tobytes() == b"\0\0abc\0\0\0"
        with pytest.raises(TypeError):
            r.recv_into(b"read-only")


def test_big_slots_recv(name):
    # slots larger than recv()'s private buffer: copied out of the slot
    big = os.urandom(1 << 20)
    with Ring.create(name, slots=2, slot_size=len(big), role="both") as r:
        r.send(big)
        r.send(b"small")
        assert r.recv() == big
        assert r.recv() == b"small"
        r.send(big[:1000])
        assert r.recv_many(4) == [big[:1000]]


def test_bursts(name):
    msgs = [bytes([i % 256]) * (i % 50) for i in range(300)]
    with Ring.create(name, slots=64, slot_size=64, role="both") as r:
        # more than fit: timeout 0 sends what fits and says how many
        assert r.send_many(msgs, timeout=0) == 64
        got = r.recv_many(1000)
        assert got == msgs[:64]
        with pytest.raises(BlockingIOError):
            r.recv_many(10, timeout=0)
        assert r.send_many(iter(msgs[64:100])) == 36              # any iterable
        assert r.recv_many(10) == msgs[64:74]
        assert r.recv_many(100) == msgs[74:100]
        assert r.send_many([]) == 0
        assert r.send_many([bytearray(b"ba"), memoryview(array.array("i", [5]))]) == 2
        assert r.recv_many(5) == [b"ba", array.array("i", [5]).tobytes()]
        # the timeout covers the whole call: full after 64, then TimeoutError -> count
        t0 = time.monotonic()
        assert r.send_many(msgs[:70], timeout=0.2) == 64
        assert 0.15 < time.monotonic() - t0 < 2
        with pytest.raises(TimeoutError):
            r.send_many([b"x"], timeout=0.05)
        with pytest.raises(ValueError):
            r.recv_many(0)


def test_bursts_across_threads(name):
    """send_many larger than the ring, with a consumer draining meanwhile."""
    msgs = [i.to_bytes(4, "little") for i in range(20000)]
    got = []
    with Ring.create(name, slots=32, slot_size=8, role="producer") as p, \
            Ring.open(name, role="consumer") as c:
        def consume():
            try:
                while True:
                    got.extend(c.recv_many(64))
            except BrokenPipeError:
                pass
        t = threading.Thread(target=consume)
        t.start()
        assert p.send_many(msgs) == len(msgs)
        p.shutdown()
        t.join(10)
    assert got == msgs


def test_reserve_commit(name):
    with Ring.create(name, slots=4, slot_size=16, role="both") as r:
        with r.reserve() as slot:
            assert len(slot) == 16 and not slot.view.readonly
            slot.view[:5] = b"hello"
            slot.commit(5)
        assert r.recv() == b"hello"
        assert slot.committed
        with pytest.raises(ValueError):
            slot.commit(1)          # already
        # without a with block
        s = r.reserve()
        s.view[:2] = b"hi"
        with pytest.raises(shmring.MessageSizeError):
            s.commit(17)            # the reservation stays
        s.commit(2)
        assert r.recv() == b"hi"


def test_reserve_left_without_commit(name):
    """A with block left without commit publishes nothing; the slot is kept
    for the next reserve()/send()."""
    with Ring.create(name, slots=4, slot_size=16, role="both") as r:
        with pytest.raises(KeyError):
            with r.reserve() as slot:
                slot.view[:3] = b"bad"
                raise KeyError("fail while filling")
        assert r.info().used == 0
        with pytest.raises(BlockingIOError):
            r.recv(timeout=0)
        r.send(b"next")                       # goes into the kept slot
        assert r.recv(timeout=0) == b"next"
        with r.reserve():
            pass                              # nothing committed
        with r.reserve() as slot:             # the same slot again
            slot.view[:2] = b"ok"
            slot.commit(2)
        r.send_many([b"a", b"b"])
        assert r.recv_many(8) == [b"ok", b"a", b"b"]
        with r.reserve():
            pass
        r.send_many([b"c", b"d"])             # first one into the kept slot
        assert r.recv_many(8) == [b"c", b"d"]
        # a reservation still open: send is refused, with the reason
        s = r.reserve()
        with pytest.raises(shmring.RingValueError, match="reservation is outstanding"):
            r.send(b"x")
        with pytest.raises(OSError, match="reservation is outstanding"):
            r.reserve(timeout=0)
        s.commit(0)
        assert r.recv() == b""


def test_acquire_release(name):
    with Ring.create(name, slots=4, slot_size=16, role="both") as r:
        r.send(b"in place")
        with r.acquire() as view:
            assert view.readonly and bytes(view) == b"in place"
            with pytest.raises(OSError, match="not released"):
                r.acquire(timeout=0)
            with pytest.raises(shmring.RingValueError, match="not released"):
                r.recv(timeout=0)
        with pytest.raises(ValueError):
            view.tobytes()                    # released with the slot
        assert r.info().used == 0
        r.send(b"two")
        a = r.acquire()
        assert len(a) == 3 and a.view == b"two"
        a.release()
        a.release()                           # idempotent
        # an exception in the block still releases (the message is consumed)
        r.send(b"three")
        with pytest.raises(KeyError):
            with r.acquire():
                raise KeyError
        assert r.info().used == 0


def test_iteration_ends_at_end_of_stream(name):
    with Ring.create(name, slots=64, slot_size=16, role="producer") as p, \
            Ring.open(name, role="consumer") as c:
        for i in range(10):
            p.send(b"%d" % i)
        p.shutdown()
        p.shutdown()                          # idempotent
        assert list(c) == [b"%d" % i for i in range(10)]
        assert list(c) == []
        assert c.info().eof
        with pytest.raises(BrokenPipeError):
            c.recv()
        with pytest.raises(BrokenPipeError):
            c.recv_many(4)
        with pytest.raises(BrokenPipeError):
            p.send(b"late")


def test_close_ends_stream(name):
    """A producer's close without shutdown ends its stream too, but not
    cleanly: the consumer drains, then its loop raises StreamAborted."""
    with Ring.create(name, slots=8, slot_size=16, role="consumer") as c:
        p = Ring.open(name, role="producer")
        p.send(b"last")
        p.close()
        got = []
        with pytest.raises(shmring.StreamAborted) as ei:
            for m in c:
                got.append(m)
        assert got == [b"last"] and ei.value.reason is shmring.END_DIED


def test_info_stats(name):
    with Ring.create(name, slots=8, slot_size=32, role="producer", mode=0o640) as p, \
            Ring.open(name, role="consumer") as c:
        assert os.stat(f"/dev/shm{name}").st_mode & 0o777 == 0o640
        assert p.info().spin_ns in (-1, 0, shmring.DEFAULT_SPIN_NS)
        p.set_spin(0)
        assert p.info().spin_ns == 0
        for _ in range(8):
            p.send(b"12345")
        with pytest.raises(BlockingIOError):
            p.send(b"full", timeout=0)
        inf = c.info()
        assert inf.used == 8 and inf.prod_idx == 8 and inf.cons_idx == 0
        assert inf.mem_size >= 8192 + 8 * 32
        assert [q.pid for q in inf.producers] == [os.getpid()]
        assert inf.producers[0].alive and not inf.producers[0].shut_down
        assert inf.consumer_attaches == 1
        c.recv_many(3)
        p.shutdown()
        st = c.stats()
        inf = c.info()
        assert (st.sent, st.received) == (8, 3)
        assert st.sent_bytes == 40 and st.recv_bytes == 15
        assert inf.producers[0].shut_down and inf.shutdowns == 1
        assert isinstance(st, shmring.RingStats) and isinstance(inf, shmring.RingInfo)


def test_poll(name):
    n2 = name + "-b"
    with Ring.create(name, slots=2, slot_size=8, role="both") as a, \
            Ring.create(n2, slots=2, slot_size=8, role="both") as b:
        try:
            assert shmring.poll([(a, shmring.POLLIN), (b, shmring.POLLIN)], timeout=0) == []
            t0 = time.monotonic()
            assert shmring.poll([(a, shmring.POLLIN)], timeout=0.1) == []
            assert time.monotonic() - t0 >= 0.09
            b.send(b"x")
            assert shmring.poll([(a, shmring.POLLIN), (b, shmring.POLLIN)]) == \
                [(b, shmring.POLLIN)]
            ready = shmring.poll([(a, shmring.POLLOUT), (b, shmring.POLLIN | shmring.POLLOUT)],
                                 timeout=0)
            assert ready == [(a, shmring.POLLOUT), (b, shmring.POLLIN | shmring.POLLOUT)]
            with pytest.raises(ValueError):
                shmring.poll([], timeout=0)
        finally:
            shmring.unlink(n2)


def test_poll_wakes(name):
    with Ring.create(name, slots=2, slot_size=8, role="consumer") as c, \
            Ring.open(name, role="producer") as p:
        threading.Timer(0.05, lambda: p.send(b"late")).start()
        assert shmring.poll([(c, shmring.POLLIN)], timeout=5) == [(c, shmring.POLLIN)]
        assert c.recv(timeout=0) == b"late"


def test_file_ring(tmp_path):
    path = str(tmp_path / "ring")
    with Ring.create(path, slots=4, slot_size=32, role="producer") as p:
        assert p.name == path and os.path.isfile(path)
        p.send(b"in a file")
        p.shutdown()
    # outlives its processes; a pathlib.Path is always a file
    with Ring.open(pathlib.Path(path), role="consumer") as c:
        assert list(c) == [b"in a file"]
    rel = os.path.relpath(path)
    if "/" in rel[1:]:                        # './x/y' style names are paths too
        with Ring.open(rel) as o:
            assert o.info().slots == 4
    Ring.unlink(path)
    assert not os.path.exists(path)
    with pytest.raises(FileNotFoundError):
        Ring.unlink(path)


def test_memfd_ring():
    with Ring.create_memfd(slots=4, slot_size=16, role="producer") as p:
        fd = p.fileno()
        assert fd >= 0
        with Ring.open_fd(fd, role="consumer") as c:
            p.send(b"anon")
            assert c.recv() == b"anon"
            assert c.name.startswith("<fd")


def test_threads_one_at_a_time(name):
    with Ring.create(name, slots=2, slot_size=8, role="consumer") as c:
        outcome = []
        t = threading.Thread(target=lambda: outcome.append(
            pytest.raises(TimeoutError, c.recv, timeout=1.0)))
        t.start()
        deadline = time.monotonic() + 5
        while not c._inflight and time.monotonic() < deadline:
            time.sleep(0.001)
        with pytest.raises(RuntimeError, match="another thread"):
            c.recv(timeout=0)
        t.join()
        assert len(outcome) == 1


def test_close_from_another_thread(name):
    c = Ring.create(name, slots=2, slot_size=8, role="consumer")
    errors = []

    def waiter():
        try:
            c.recv()
        except Exception as e:      # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    c.close()
    t.join(5)
    assert time.monotonic() - t0 < 1
    assert len(errors) == 1 and isinstance(errors[0], ValueError) and "closed" in str(errors[0])
    with pytest.raises(ValueError, match="closed"):
        c.recv()
    with pytest.raises(ValueError, match="closed"):
        c.info()


def test_unclosed_warning(name):
    r = Ring.create(name, slots=2, slot_size=8)
    with pytest.warns(ResourceWarning):
        del r
        import gc
        gc.collect()


def test_close_during_poll(name):
    n2 = name + "-b"
    with Ring.create(name, slots=2, slot_size=8, role="consumer") as a:
        b = Ring.create(n2, slots=2, slot_size=8, role="consumer")
        errors = []

        def waiter():
            try:
                shmring.poll([(a, shmring.POLLIN), (b, shmring.POLLIN)])
            except ValueError as e:
                errors.append(e)
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.1)
        b.close()                             # the second ring: poll gives up too
        t.join(5)
        shmring.unlink(n2)
        assert not t.is_alive() and len(errors) == 1 and n2 in str(errors[0])


def test_overwrite_oldest(name):
    # the producer never waits; the consumer gets the newest slots' worth and
    # counts what was overwritten
    with shmring.Ring.create(name, slots=4, slot_size=16, role="producer",
                             flags=shmring.OVERWRITE) as p, \
            shmring.Ring.open(name, role="consumer") as c:
        for i in range(10):
            p.send(b"m%d" % i, timeout=0)
        assert [c.recv(timeout=0) for _ in range(4)] == [b"m6", b"m7", b"m8", b"m9"]
        assert c.stats().overruns == 6
        assert c.stats().received == 4
        assert c.info().flags & shmring.OVERWRITE
        assert c.info().kind == "spsc"
    with pytest.raises(shmring.RingValueError):
        shmring.Ring.create(name, slots=4, slot_size=16, kind="mpmc", flags=shmring.OVERWRITE)
    with pytest.raises(shmring.RingValueError):      # two engines: not both
        shmring.Ring.create(name, slots=4, slot_size=16,
                            flags=shmring.OVERWRITE | shmring.PACKED)


def test_overwrite_big_message_never_torn(name, monkeypatch):
    """recv() of a message larger than its 256 KiB buffer copies it out of
    its slot between acquire and release; on an OVERWRITE ring the
    producer may lap the ring meanwhile. The copy below is made to meet
    that for certain: half the message is copied, the producer overwrites
    every slot, then the other half is copied. Before: recv() returned that
    torn message (half 'A', half 'E'). Now: release() says -ESTALE, the copy
    is discarded (an overrun) and recv() returns the oldest intact one."""
    size = 300 * 1024
    with Ring.create(name, slots=4, slot_size=size, role="producer",
                     flags=shmring.OVERWRITE) as p, Ring.open(name, role="consumer") as c:
        p.send(b"A" * size, timeout=0)
        real = shmring._ring._string_at
        copies = []

        def copy_while_lapped(addr, n):
            copies.append(n)
            if len(copies) > 1:
                return real(addr, n)
            head = real(addr, n // 2)
            for k in "BCDE":                  # 4 slots: E lands on A's slot
                p.send(k.encode() * size, timeout=0)
            return head + real(addr + n // 2, n - n // 2)
        monkeypatch.setattr(shmring._ring, "_string_at", copy_while_lapped)
        got = c.recv(timeout=0)
        assert got == b"B" * size, f"a torn message: {got[:1]}..{got[-1:]}"
        assert len(copies) == 2, "the torn copy was made, and discarded"
        assert [c.recv(timeout=0) for _ in range(3)] == [k.encode() * size for k in "CDE"]
        st = c.stats()
        assert st.overruns == 1 and st.received == 4


def test_not_picklable(name):
    """A Ring is this process's attachment: pickling or copying it is a
    clear TypeError that says what to do (also when multiprocessing tries
    to send it to a spawned child); it was a ValueError about ctypes
    pointers."""
    import copy
    import multiprocessing as mp
    import pickle
    with Ring.create(name, slots=2, slot_size=8, role="both") as r:
        for fn in (pickle.dumps, copy.copy, copy.deepcopy):
            with pytest.raises(TypeError, match=r"cannot be pickled.*Ring\.open\(name"):
                fn(r)
        proc = mp.get_context("spawn").Process(target=print, args=(r,))
        with pytest.raises(TypeError, match="cannot be pickled"):
            proc.start()
