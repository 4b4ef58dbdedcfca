# SPDX-License-Identifier: MIT
"""numpy over the zero-copy views: arrays built inside the shared slot
(reserve) and read where they lie (acquire), without a copy."""
import multiprocessing as mp

import numpy as np
import pytest

from shmring import Ring

from conftest import run_python


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


# -- views that outlive their block, their slot, their Ring ----------------------

OUTLIVE = """
import gc, sys, warnings
import numpy as np
import shmring
warnings.simplefilter("ignore", ResourceWarning)
name, case = sys.argv[1], sys.argv[2]
r = shmring.Ring.create(name, slots=4, slot_size=1 << 20, role="both")
r.send(b"x" * (1 << 20))
if case == "reserve":
    with r.reserve() as slot:
        kept = slot.view[:1 << 20]             # a writable slice
        slot.commit(8)
else:
    with r.acquire() as view:
        kept = view[:1 << 20] if case != "numpy" else np.frombuffer(view, dtype=np.uint8)
if case == "collected":
    del r                                      # never closed: the Ring is collected
    gc.collect()
else:
    r.close()
shmring.unlink(name)
if case == "reserve":
    kept[:4] = b"late"
print(bytes(kept[:4]).decode(), len(kept), flush=True)
"""


@pytest.mark.parametrize("case", ["close", "collected", "numpy", "reserve"])
def test_view_outliving_the_ring(name, case):
    """A slice of a zero-copy view (or a numpy array over one) kept after
    the Ring is closed, or collected without close(), is still memory:
    reading (or writing) it does not crash the interpreter. Before: SIGSEGV
    (the view pointed into the library's mapping, which close() unmapped)."""
    r = run_python(OUTLIVE, name, case)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr.decode()[-2000:]}"
    want = b"late" if case == "reserve" else b"xxxx"
    assert r.stdout == want + b" %d\n" % (1 << 20)


def test_released_view_is_refused(name):
    """The view itself is released with its slot (a ValueError, not a
    read of whatever the slot holds next); a slice kept from it reads the
    slot as it is now (documented: copy what you keep)."""
    with Ring.create(name, slots=2, slot_size=8, role="both") as r:
        r.send(b"first")
        with r.acquire() as view:
            part = view[:5]
        with pytest.raises(ValueError):
            bytes(view)
        r.send(b"secnd")
        r.send(b"third")                       # slot 0 again
        assert bytes(part) == b"third"
