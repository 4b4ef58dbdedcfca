# SPDX-License-Identifier: MIT
"""Between processes: multiprocessing children, unrelated Python processes
(subprocess), and the C side (the shmring CLI's push and pop)."""
import hashlib
import multiprocessing as mp
import os
import signal
import subprocess
import threading
import time

import pytest

import shmring
from shmring import Ring

from conftest import run_python, spawn_python

N = 20000


# -- multiprocessing ------------------------------------------------------

def _produce(name, n):
    with Ring.open(name, role="producer") as p:
        for i in range(n):
            p.send(i.to_bytes(4, "little") * (1 + i % 8))
        p.shutdown()


def test_multiprocessing_spawn(name):
    """A producer started with multiprocessing (spawn: a fresh interpreter)."""
    with Ring.create(name, slots=64, slot_size=32, role="consumer") as c:
        proc = mp.get_context("spawn").Process(target=_produce, args=(name, N))
        proc.start()
        got = list(c)
        proc.join(20)
        assert proc.exitcode == 0
    assert len(got) == N
    assert all(m == i.to_bytes(4, "little") * (1 + i % 8) for i, m in enumerate(got))


def _mpmc_producer(name, pid, n, barrier):
    with Ring.open(name, role="producer") as p:
        barrier.wait(10)   # every peer attached: the first shutdown is not the end
        batch = []
        for i in range(n):
            batch.append(bytes([pid]) + i.to_bytes(4, "little"))
            if len(batch) == 50:
                p.send_many(batch)
                batch = []
        p.send_many(batch)
        p.shutdown()


def _mpmc_consumer(name, q, barrier):
    got = []
    with Ring.open(name, role="consumer") as c:
        barrier.wait(10)
        try:
            while True:
                got.extend(c.recv_many(32))
        except BrokenPipeError:
            pass
    q.put(got)


def test_multiprocessing_mpmc(name):
    """2 producers x 2 consumers (fork): nothing lost, duplicated or
    reordered within a producer."""
    n = 5000
    ctx = mp.get_context("fork")
    Ring.create(name, slots=32, slot_size=8, kind="mpmc").close()
    q = ctx.Queue()
    barrier = ctx.Barrier(4)
    cons = [ctx.Process(target=_mpmc_consumer, args=(name, q, barrier)) for _ in range(2)]
    for p in cons:
        p.start()
    prods = [ctx.Process(target=_mpmc_producer, args=(name, k, n, barrier)) for k in range(2)]
    for p in prods:
        p.start()
    results = [q.get(timeout=30) for _ in cons]
    for p in prods + cons:
        p.join(10)
        assert p.exitcode == 0
    seen = {0: [], 1: []}
    for got in results:
        last = {}
        for m in got:
            k, i = m[0], int.from_bytes(m[1:], "little")
            assert i > last.get(k, -1)          # in order within a producer
            last[k] = i
            seen[k].append(i)
    for k in (0, 1):
        assert sorted(seen[k]) == list(range(n))


# -- unrelated processes ----------------------------------------------------

PRODUCER = """
import sys, shmring
with shmring.Ring.open(sys.argv[1], role="producer") as p:
    for i in range(int(sys.argv[2])):
        p.send(b"msg %d" % i)
    p.shutdown()
"""

CONSUMER = """
import hashlib, sys, shmring
h = hashlib.sha256()
n = 0
with shmring.Ring.open(sys.argv[1], role="consumer") as c:
    for m in c:
        h.update(m + b"|")
        n += 1
print(n, h.hexdigest())
"""


def test_subprocess_producer(name):
    with Ring.create(name, slots=16, slot_size=32, role="consumer") as c:
        proc = spawn_python(PRODUCER, name, str(N))
        got = list(c)
        assert proc.wait(20) == 0
    assert got == [b"msg %d" % i for i in range(N)]


def test_subprocess_consumer(name):
    with Ring.create(name, slots=16, slot_size=32, role="producer") as p:
        proc = spawn_python(CONSUMER, name, stdout=subprocess.PIPE)
        h = hashlib.sha256()
        for i in range(N):
            m = b"msg %d" % i
            h.update(m + b"|")
            p.send(m)
        p.shutdown()
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out.split() == [str(N).encode(), h.hexdigest().encode()]


def test_killed_producer_ends_stream(name):
    """A producer killed mid-stream: the consumer drains, then its
    iteration ends with StreamAborted (the library notices the death)."""
    code = """
import sys, time, shmring
p = shmring.Ring.open(sys.argv[1], role="producer")
p.send(b"before")
print("sent", flush=True)
time.sleep(60)
"""
    with Ring.create(name, slots=4, slot_size=16, role="consumer") as c:
        proc = spawn_python(code, name, stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"sent\n"
        assert c.recv(timeout=10) == b"before"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        t0 = time.monotonic()
        with pytest.raises(shmring.StreamAborted) as ei:
            list(c)
        assert time.monotonic() - t0 < 5
        assert ei.value.reason is shmring.EndReason.DIED
        assert c.info().prod_deaths == 1


# -- the C side: shmring push / pop --------------------------------------------

def feed(proc, data):
    """write data to proc's stdin from a thread (the ring fills, push stops
    reading, until we consume)"""
    def run():
        proc.stdin.write(data)
        proc.stdin.close()
    threading.Thread(target=run, daemon=True).start()


def test_c_producer_python_consumer(name, cli):
    data = os.urandom(300_000)
    with Ring.create(name, slots=8, slot_size=1000, role="consumer") as c:
        push = subprocess.Popen([cli, "push", "--no-create", name], stdin=subprocess.PIPE)
        feed(push, data)
        got = list(c)
        assert push.wait(20) == 0
    assert b"".join(got) == data
    assert max(map(len, got)) <= 1000


def test_c_producer_lines(name, cli):
    lines = [b"line %d" % i for i in range(1000)]
    with Ring.create(name, slots=8, slot_size=64, role="consumer") as c:
        push = subprocess.Popen([cli, "push", "--lines", "--no-create", name],
                                stdin=subprocess.PIPE)
        feed(push, b"\n".join(lines) + b"\n")
        got = list(c)
        assert push.wait(20) == 0
    assert got == lines                        # one message per line


def test_python_producer_c_consumer(name, cli, tmp_path):
    msgs = [os.urandom(i % 200) for i in range(3000)]
    out_file = open(tmp_path / "out", "w+b")   # not a pipe: nobody reads it meanwhile
    with Ring.create(name, slots=8, slot_size=256, role="producer") as p:
        pop = subprocess.Popen([cli, "pop", name], stdout=out_file)
        p.send_many(msgs[:1000])
        for m in msgs[1000:2000]:
            p.send(m)
        for m in msgs[2000:]:
            with p.reserve() as slot:
                slot.view[:len(m)] = m
                slot.commit(len(m))
        p.shutdown()
        assert pop.wait(20) == 0               # a stream that was shut down
    out_file.seek(0)
    assert out_file.read() == b"".join(msgs)


def test_python_producer_c_consumer_lines(name, cli):
    with Ring.create(name, slots=4, slot_size=32, role="producer") as p:
        pop = subprocess.Popen([cli, "pop", "--lines", name], stdout=subprocess.PIPE)
        for i in range(500):
            p.send(b"%d" % i)
        p.shutdown()
        out, _ = pop.communicate(timeout=20)
    assert pop.returncode == 0
    assert out.split(b"\n")[:-1] == [b"%d" % i for i in range(500)]


def test_file_ring_between_processes(tmp_path, cli):
    path = str(tmp_path / "ring")
    r = run_python("import sys, shmring\n"
                   "with shmring.Ring.create(sys.argv[1], slots=8, slot_size=16, role='producer') as p:\n"
                   "    p.send(b'from a file'); p.shutdown()\n", path)
    assert r.returncode == 0, r.stderr
    out = subprocess.run([cli, "pop", path], capture_output=True, timeout=10)
    assert out.returncode == 0 and out.stdout == b"from a file"
