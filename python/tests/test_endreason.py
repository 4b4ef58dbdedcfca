# SPDX-License-Identifier: MIT
"""How a stream ended: Ring.abort(), Ring.end_reason, StreamAborted from
iteration and the receives, what a producer's ``with`` block does on its
way out; in one process and across processes (multiprocessing children and
unrelated interpreters)."""
import errno
import multiprocessing as mp
import os
import pickle
import subprocess

import pytest

import shmring
from shmring import END_ABORTED, END_CLEAN, END_DIED, EndReason, Ring, StreamAborted

from conftest import spawn_python

MSGS = [b"msg %d" % i for i in range(50)]


def drain(c):
    """iterate to the end: (the messages, None) after a clean end, or
    (the messages, the StreamAborted raised)"""
    got = []
    try:
        for m in c:
            got.append(m)
    except StreamAborted as e:
        return got, e
    return got, None


# -- one process ---------------------------------------------------------------

def test_names():
    assert (END_CLEAN, END_ABORTED, END_DIED) == (1, 2, 3)
    assert END_CLEAN is EndReason.CLEAN and isinstance(END_DIED, int)
    assert issubclass(StreamAborted, BrokenPipeError)
    e = pickle.loads(pickle.dumps(StreamAborted(errno.EPIPE, "x", "/r", reason=END_ABORTED)))
    assert e.reason is END_ABORTED and e.errno == errno.EPIPE and e.filename == "/r"


def test_clean(name):
    with Ring.create(name, slots=64, slot_size=16, role="producer") as p, \
            Ring.open(name, role="consumer") as c, Ring.open(name) as obs:
        assert p.end_reason is c.end_reason is obs.end_reason is None
        for m in MSGS:
            p.send(m)
        p.shutdown()
        assert c.end_reason is None           # a consumer answers once it met the end
        assert obs.end_reason is END_CLEAN    # an observer: the ring as it stands
        assert drain(c) == (MSGS, None)
        assert c.end_reason is END_CLEAN
        with pytest.raises(BrokenPipeError) as ei:
            c.recv()
        assert type(ei.value) is BrokenPipeError


def test_abort(name):
    with Ring.create(name, slots=64, slot_size=16, role="producer") as p, \
            Ring.open(name, role="consumer") as c:
        for m in MSGS:
            p.send(m)
        p.abort()
        p.abort()                             # idempotent
        p.shutdown()                          # changes nothing
        with pytest.raises(BrokenPipeError):
            p.send(b"late")
        got, e = drain(c)
        assert got == MSGS                    # what was committed arrives first
        assert e.reason is END_ABORTED and e.errno == errno.EPIPE and e.filename == name
        assert "aborted" in str(e) and "incomplete" in str(e)
        assert c.end_reason is END_ABORTED
        # the receives say so too, as the BrokenPipeError they always were
        for op in (c.recv, lambda: c.recv_many(4), c.acquire,
                   lambda: c.recv_into(bytearray(16))):
            with pytest.raises(StreamAborted) as ei:
                op()
            assert ei.value.reason is END_ABORTED


def test_abort_after_shutdown_refused(name):
    with Ring.create(name, slots=4, slot_size=16, role="producer") as p, \
            Ring.open(name, role="consumer") as c:
        p.shutdown()
        with pytest.raises(shmring.RingValueError, match="already shut down"):
            p.abort()
        with pytest.raises(shmring.RingValueError, match="not a producer"):
            c.abort()
        assert drain(c) == ([], None)


def test_close_without_shutdown_is_died(name):
    with Ring.create(name, slots=4, slot_size=16, role="consumer") as c:
        p = Ring.open(name, role="producer")
        p.send(b"one")
        p.close()
        assert drain(c)[1].reason is END_DIED
        assert c.end_reason is END_DIED


def test_with_block_shuts_down_or_aborts(name):
    """A producer's with block: a normal exit shuts down (clean), an
    exception aborts (and is not masked), an explicit shutdown() stands."""
    with Ring.create(name, slots=64, slot_size=16, role="consumer") as c:
        with Ring.open(name, role="producer") as p:
            p.send(b"a")
        assert drain(c) == ([b"a"], None) and c.end_reason is END_CLEAN

        with pytest.raises(KeyError):
            with Ring.open(name, role="producer") as p:
                p.send(b"b")
                raise KeyError("the source failed")
        got, e = drain(c)
        assert got == [b"b"] and e.reason is END_ABORTED

        with pytest.raises(KeyError):
            with Ring.open(name, role="producer") as p:
                p.send(b"c")
                p.shutdown()                  # declared complete before the error
                raise KeyError
        assert drain(c) == ([b"c"], None)


def test_new_stream_resets(name):
    with Ring.create(name, slots=4, slot_size=16, role="consumer") as c:
        with pytest.raises(ValueError):
            with Ring.open(name, role="producer"):
                raise ValueError
        assert drain(c)[1].reason is END_ABORTED
        with Ring.open(name, role="producer") as p:
            # kept until the consumer receives in the new stream (a producer
            # may attach between the consumer's end and its question)
            assert c.end_reason is END_ABORTED
            p.send(b"again")
            assert c.recv(5) == b"again"
            assert c.end_reason is None       # the new stream has not ended
        assert drain(c) == ([], None)


def test_end_reason_closed(name):
    r = Ring.create(name, slots=4, slot_size=16, role="consumer")
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.end_reason


# -- across processes ------------------------------------------------------------

def _producer(name, how):
    p = Ring.open(name, role="producer")
    for m in MSGS:
        p.send(m)
    if how == "shutdown":
        p.shutdown()
    elif how == "abort":
        p.abort()
    elif how == "exit":
        os._exit(0)                           # gone without shutdown or close
    p.close()                                 # "close": without shutdown


@pytest.mark.parametrize("how,reason", [("shutdown", END_CLEAN), ("abort", END_ABORTED),
                                        ("close", END_DIED), ("exit", END_DIED)])
def test_multiprocessing(name, how, reason):
    with Ring.create(name, slots=8, slot_size=16, role="consumer") as c:
        proc = mp.get_context("fork").Process(target=_producer, args=(name, how))
        proc.start()
        got, e = drain(c)
        proc.join(20)
        assert proc.exitcode == 0
        assert got == MSGS
        if reason is END_CLEAN:
            assert e is None
        else:
            assert e.reason is reason
        assert c.end_reason is reason
    with Ring.open(name) as obs:              # an observer, after everything
        assert obs.end_reason is reason


PRODUCER = """
import sys, shmring
with shmring.Ring.open(sys.argv[1], role="producer") as p:
    for i in range(50):
        p.send(b"msg %d" % i)
    if sys.argv[2] == "raise":
        raise RuntimeError("the source failed")
"""

CONSUMER = """
import sys, shmring
n = 0
try:
    with shmring.Ring.open(sys.argv[1], role="consumer") as c:
        for m in c:
            n += 1
except shmring.StreamAborted as e:
    print(n, e.reason.name)
    sys.exit(13)
print(n, "CLEAN")
"""


@pytest.mark.parametrize("end", ["normal", "raise"])
def test_subprocess_producer_with_block(name, end):
    """An unrelated interpreter's with block: left normally, the stream
    ends cleanly; left by an exception, it is aborted."""
    with Ring.create(name, slots=8, slot_size=16, role="consumer") as c:
        proc = spawn_python(PRODUCER, name, end, stderr=subprocess.PIPE)
        got, e = drain(c)
        _, err = proc.communicate(timeout=20)
    assert got == MSGS
    if end == "normal":
        assert proc.returncode == 0 and e is None
    else:
        assert proc.returncode == 1 and b"the source failed" in err
        assert e.reason is END_ABORTED


@pytest.mark.parametrize("how,out", [("shutdown", b"50 CLEAN\n"), ("abort", b"50 ABORTED\n"),
                                     ("close", b"50 DIED\n")])
def test_subprocess_consumer(name, how, out):
    """The consumer in an unrelated interpreter sees each end."""
    with Ring.create(name, slots=8, slot_size=16, role="producer") as p:
        proc = spawn_python(CONSUMER, name, stdout=subprocess.PIPE)
        for m in MSGS:
            p.send(m)
        if how == "shutdown":
            p.shutdown()
        elif how == "abort":
            p.abort()
        else:
            p.close()                         # (the with block then has nothing to end)
        stdout, _ = proc.communicate(timeout=20)
    assert stdout == out
    assert proc.returncode == (0 if how == "shutdown" else 13)
