# SPDX-License-Identifier: MIT
"""Broadcast rings (kind="broadcast"): one producer, every subscriber (a
consumer attachment) receives every message sent after it attached.
Subscriber processes are separate interpreters (subprocess); nothing here
waits a fixed time: the producer polls subscribers() until they are there."""
import json
import subprocess
import time

import pytest

import shmring
from shmring import Ring

from conftest import spawn_python

N = 20000

# a subscriber process: attach, say so, receive to the end of the stream;
# prints how many it got, whether they were exactly 0..n-1 in order, the
# end reason, and its own counters (received, overruns)
SUBSCRIBER = r"""
import sys
import shmring
name, n = sys.argv[1], int(sys.argv[2])
with shmring.Ring.open(name, role="consumer") as c:
    got, in_order, reason = 0, True, "clean"
    try:
        for m in c:
            if m != b"m%d" % got:
                in_order = False
            got += 1
    except shmring.StreamAborted as e:
        reason = e.reason.name.lower()
    st = c.stats()
    print(got, in_order, reason, st.received, st.overruns, flush=True)
"""

# a lossy subscriber: the messages it got must be increasing (gaps allowed)
LOSSY = r"""
import sys
import shmring
name = sys.argv[1]
with shmring.Ring.open(name, role="consumer") as c:
    last, got, increasing = -1, 0, True
    for m in c:
        i = int(m[1:])
        increasing &= i > last
        last, got = i, got + 1
    st = c.stats()
    print(got, increasing, st.received, st.overruns, flush=True)
"""


def wait_subscribers(ring, n, timeout=60.0):
    """Poll until ring lists n live subscribers (bounded; not a timing
    assumption: the bound only ends a hung test)."""
    deadline = time.monotonic() + timeout
    while True:
        subs = ring.subscribers()
        if sum(s.alive for s in subs) == n:
            return subs
        assert time.monotonic() < deadline, f"subscribers: {subs}"
        time.sleep(0.01)


def start(code, name, *args, count=3):
    return [spawn_python(code, name, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(count)]


def results(procs):
    out = []
    for p in procs:
        o, e = p.communicate(timeout=120)
        assert p.returncode == 0, e.decode()
        out.append(o.split())
    return out


def test_kind_and_info(name, cli):
    with Ring.create(name, slots=8, slot_size=32, kind="broadcast", role="producer") as p, \
            Ring.open(name, role="consumer") as a:
        assert p.kind == "broadcast" and p.info().kind == "broadcast"
        assert "broadcast" in repr(p)
        p.send(b"one")
        subs = p.subscribers()
        assert len(subs) == 1 and isinstance(subs[0], shmring.Subscriber)
        assert (subs[0].position, subs[0].lag, subs[0].start, subs[0].delivered) == (0, 1, 0, 0)
        assert not subs[0].self and a.subscribers()[0].self
        assert a.recv() == b"one"
        # a subscriber that joins now starts here: it does not get "one"
        with Ring.open(name, role="consumer") as b:
            p.send(b"two")
            assert b.recv() == b"two" and a.recv() == b"two"
            subs = {s.index: s for s in p.subscribers()}
            assert len(subs) == 2
            late = [s for s in subs.values() if s.start == 1]
            assert len(late) == 1 and late[0].delivered == 1 and late[0].lag == 0
        assert len(p.subscribers()) == 1
        out = subprocess.run([cli, "info", "--json", name], capture_output=True, check=True)
        js = json.loads(out.stdout)
        assert js["kind"] == "broadcast"
        assert [(s["index"], s["delivered"], s["lag"]) for s in js["subscribers"]] == \
            [(s.index, s.delivered, s.lag) for s in p.subscribers()]
    with Ring.create(name + "-o", slots=8, slot_size=32, kind="broadcast",
                     flags=shmring.OVERWRITE) as o:
        assert o.info().kind == "broadcast" and o.info().flags & shmring.OVERWRITE
        assert o.subscribers() == []
    Ring.unlink(name + "-o")


def test_subscribers_needs_broadcast(name):
    with Ring.create(name, slots=8, slot_size=32) as r:
        with pytest.raises(shmring.RingValueError):
            r.subscribers()
    with pytest.raises(ValueError):
        Ring.create(name + "-x", slots=8, slot_size=32, kind="fanout")


def test_three_subscriber_processes(name):
    """Three subscriber processes each receive all N messages, in order."""
    with Ring.create(name, slots=64, slot_size=32, kind="broadcast", role="producer") as p:
        procs = start(SUBSCRIBER, name, str(N))
        wait_subscribers(p, 3)
        for i in range(N):
            p.send(b"m%d" % i)
        p.shutdown()
        out = results(procs)
    for o in out:
        assert o == [str(N).encode(), b"True", b"clean", str(N).encode(), b"0"], o


def test_abort_ends_every_subscriber(name):
    """An abort ends each subscriber's stream with END_ABORTED, after it has
    received everything sent before it."""
    with Ring.create(name, slots=16, slot_size=32, kind="broadcast", role="producer") as p:
        procs = start(SUBSCRIBER, name, "100")
        wait_subscribers(p, 3)
        for i in range(100):
            p.send(b"m%d" % i)
        p.abort()
        out = results(procs)
    for o in out:
        assert o == [b"100", b"True", b"aborted", b"100", b"0"], o


def test_overwrite_losses_counted_exactly(name):
    """With OVERWRITE the producer never waits; a subscriber that reads
    nothing until the end loses all but the last ring's worth, counted."""
    n, slots = 1000, 8
    with Ring.create(name, slots=slots, slot_size=32, kind="broadcast", role="producer",
                     flags=shmring.OVERWRITE) as p, \
            Ring.open(name, role="consumer") as keep_up, \
            Ring.open(name, role="consumer") as late:
        got_keep = []
        for i in range(n):
            p.send(b"m%d" % i)
            got_keep.append(keep_up.recv(timeout=10))
        p.shutdown()
        got_late = list(late)
        assert list(keep_up) == []
        assert got_keep == [b"m%d" % i for i in range(n)]
        assert got_late == [b"m%d" % i for i in range(n - slots, n)]
        assert (keep_up.stats().received, keep_up.stats().overruns) == (n, 0)
        assert (late.stats().received, late.stats().overruns) == (slots, n - slots)
        for s in p.subscribers():
            assert s.delivered + s.overruns == n - s.start == n and s.lag == 0, s


def test_overwrite_subscriber_processes(name):
    """Three lossy subscriber processes against a producer that never waits:
    for each, sent == delivered + overruns, and what it got is in order."""
    with Ring.create(name, slots=16, slot_size=32, kind="broadcast", role="producer",
                     flags=shmring.OVERWRITE) as p:
        procs = start(LOSSY, name)
        wait_subscribers(p, 3)
        for i in range(N):
            p.send(b"m%d" % i)
        p.shutdown()
        sent = p.stats().sent
        out = results(procs)
    assert sent == N
    for got, increasing, received, overruns in out:
        assert increasing == b"True"
        assert int(got) == int(received)
        assert int(received) + int(overruns) == N, (got, received, overruns)
