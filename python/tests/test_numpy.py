# SPDX-License-Identifier: MIT
"""numpy over the zero-copy views: arrays built inside the shared slot
(reserve) and read where they lie (acquire), without a copy."""
import multiprocessing as mp

import numpy as np

from shmring import Ring


def view_address(view: memoryview) -> int:
    """the address a memoryview's buffer starts at (through a numpy array
    over it, which itself copies nothing)"""
    return np.frombuffer(view, dtype=np.uint8).ctypes.data


def test_reserve_numpy_writes_in_place(name):
    with Ring.create(name, slots=4, slot_size=4096, role="both") as r:
        with r.reserve() as slot:
            arr = np.frombuffer(slot.view, dtype=np.float32, count=100)
            assert not arr.flags.owndata and arr.flags.writeable
            arr[:] = np.arange(100, dtype=np.float32)      # written into the slot
            assert bytes(slot.view[:8]) == np.arange(2, dtype=np.float32).tobytes()
            slot.commit(arr.nbytes)
            del arr
        with r.acquire() as view:
            got = np.frombuffer(view, dtype=np.float32)
            assert not got.flags.writeable and not got.flags.owndata
            assert got.ctypes.data == view_address(view)  # the slot itself
            assert np.array_equal(got, np.arange(100, dtype=np.float32))
            del got


def test_acquire_is_in_place(name):
    """The view of an acquired message is the slot the producer's
    reservation wrote: same shared memory, no copy in between."""
    with Ring.create(name, slots=2, slot_size=64, role="both") as r:
        with r.reserve() as slot:
            written_at = view_address(slot.view)
            slot.view[:4] = b"abcd"
            slot.commit(4)
        with r.acquire() as view:
            assert view_address(view) == written_at
            assert bytes(view) == b"abcd"


def test_numpy_send_recv_into(name):
    with Ring.create(name, slots=4, slot_size=1024, role="both") as r:
        a = np.random.default_rng(1).standard_normal(128)
        r.send(a)                                          # read through its buffer
        out = np.empty(128)
        assert r.recv_into(out) == a.nbytes
        assert np.array_equal(out, a)
        r.send(a[::2].copy())
        assert np.array_equal(np.frombuffer(r.recv(), dtype=a.dtype), a[::2])
        try:
            r.send(a[::2])                                 # not contiguous
        except BufferError:
            pass
        else:
            raise AssertionError("a strided array must be refused")


def test_array_outliving_the_block(name):
    """An array made from the view and kept after the block does not stop
    the release (its data are then the producer's to overwrite)."""
    with Ring.create(name, slots=2, slot_size=64, role="both") as r:
        r.send(np.arange(8, dtype=np.int64))
        with r.acquire() as view:
            kept = np.frombuffer(view, dtype=np.int64)
            first = kept.copy()
        assert r.info().used == 0
        assert list(first) == list(range(8))
        del kept


def _frames(name, n, shape):
    with Ring.open(name, role="producer") as p:
        for i in range(n):
            with p.reserve() as slot:
                a = np.ndarray(shape, dtype=np.uint16, buffer=slot.view)
                a[:] = i
                a[0, 0] = i * 3
                slot.commit(a.nbytes)
                del a
        p.shutdown()


def test_frames_between_processes(name):
    shape, n = (64, 64), 500
    nbytes = int(np.prod(shape)) * 2
    with Ring.create(name, slots=8, slot_size=nbytes, role="consumer") as c:
        proc = mp.get_context("fork").Process(target=_frames, args=(name, n, shape))
        proc.start()
        i = 0
        while True:
            try:
                acq = c.acquire()
            except BrokenPipeError:
                break
            with acq as view:
                a = np.ndarray(shape, dtype=np.uint16, buffer=view)
                assert a[0, 0] == (i * 3) & 0xFFFF and a[1, 1] == i
                del a
            i += 1
        proc.join(10)
        assert proc.exitcode == 0 and i == n
