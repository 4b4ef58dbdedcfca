#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py - messages/s between two Python processes: shmring against the
IPC that Python programs use. `make bench-python` runs it.

Each case: a producer process (forked, its transport opened after the fork)
sends the same message of SIZE bytes as fast as it can for --seconds, then
ends the stream; the consumer (this process) receives every message as a
bytes object and counts them. Rate = messages / (time of the last message -
the start signal). Cases are interleaved (every case once per rep, --reps
reps), and the table shows each case's median and min..max.

Transports, each used the way its own users would for bytes:
  shmring            Ring.send / Ring.recv (one message per call)
  shmring burst      Ring.send_many(list of --burst) / Ring.recv_many(--burst)
  mp.Queue           multiprocessing.Queue put / get
  mp.Pipe            multiprocessing.Pipe(duplex=False) send_bytes / recv_bytes
  zmq PUSH/PULL      pyzmq over ipc:// (python3-zmq), send / recv (copy=True,
                     the faster mode for small messages)

The zmq producer keeps its socket open until the consumer has received the
end-of-stream marker (an acknowledgement through a multiprocessing Event):
LINGER -1 and Context.term() do not deliver the last bytes of a PUSH socket
whose peer is not reading at that moment (linger waits until libzmq 4.3.4's
engine has taken the last message, not until it wrote it; what is left in
its buffer goes with the session; libzmq issues #1922, #4660): the
marker was lost in 5 of 500 runs of the case (and with a consumer that stalls,
hundreds of messages before it).
A producer gone without its marker arriving is reported (LostEnd), never
waited for, and never run again.

Usage: bench.py [--sizes 64,4096] [--reps 9] [--seconds 0.3] [--burst 256]
                [--cases shmring,mp.Queue,...]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmring  # noqa: E402

try:
    import zmq
except ImportError:
    zmq = None

CHECK_EVERY = 64   # the producer reads the clock once per this many messages
ZMQ_IDLE_MS = 2000  # a PULL consumer idle this long checks whether its producer is gone
ZMQ_ACK_S = 60      # a zmq producer waits this long for the consumer's "end received"


class LostEnd(Exception):
    """the producer exited, yet its end-of-stream marker never arrived (a
    loss: the run is void). It happened with pyzmq before its producer waited
    for the consumer's acknowledgement (see prod_zmq)."""


def _until(seconds: float):
    """yields until the time is up, checking the clock every CHECK_EVERY"""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(CHECK_EVERY):
            yield


# -- producers (child process) ----------------------------------------------

def prod_shmring(name, size, seconds, go, burst):
    r = shmring.Ring.open(name, role="producer")
    msg = b"m" * size
    send = r.send
    go.wait()
    for _ in _until(seconds):
        send(msg)
    r.shutdown()
    r.close()


def prod_shmring_burst(name, size, seconds, go, burst):
    r = shmring.Ring.open(name, role="producer")
    batch = [b"m" * size] * burst
    send_many = r.send_many
    go.wait()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        send_many(batch)
    r.shutdown()
    r.close()


def prod_queue(q, size, seconds, go, burst):
    msg = b"m" * size
    put = q.put
    go.wait()
    for _ in _until(seconds):
        put(msg)
    put(None)
    q.close()
    q.join_thread()


def prod_pipe(conn, size, seconds, go, burst):
    msg = b"m" * size
    send = conn.send_bytes
    go.wait()
    for _ in _until(seconds):
        send(msg)
    send(b"")
    conn.close()


def prod_zmq(endpoint, size, seconds, go, burst, received):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, -1)
    s.connect(endpoint)
    msg = b"m" * size
    send = s.send
    go.wait()
    for _ in _until(seconds):
        send(msg)
    send(b"")
    # close only once the consumer has the end marker: closing earlier can
    # drop the socket's last bytes (the marker) when the consumer is not
    # reading at that moment, LINGER -1 notwithstanding (libzmq #1922, #4660)
    acked = received.wait(ZMQ_ACK_S)
    s.close(linger=0 if not acked else -1)
    ctx.term()
    if not acked:
        sys.exit(3)


# -- consumers (this process) ---------------------------------------------------

def run_case(case: str, size: int, seconds: float, burst: int, tmp: str) -> float:
    ctx = mp.get_context("fork")
    go = ctx.Event()
    count = 0
    if case.startswith("shmring"):
        name = f"/pybench-{os.getpid()}"
        shmring.Ring.create(name, slots=1024, slot_size=max(size, 64), kind="spsc").close()
        try:
            with shmring.Ring.open(name, role="consumer") as r:
                target = prod_shmring if case == "shmring" else prod_shmring_burst
                p = ctx.Process(target=target, args=(name, size, seconds, go, burst))
                p.start()
                go.set()
                t0 = time.perf_counter()
                if case == "shmring":
                    for _ in r:
                        count += 1
                else:
                    recv_many = r.recv_many
                    try:
                        while True:
                            count += len(recv_many(burst))
                    except BrokenPipeError:
                        pass
                t1 = time.perf_counter()
        finally:
            shmring.unlink(name)
    elif case == "mp.Queue":
        q = ctx.Queue()
        p = ctx.Process(target=prod_queue, args=(q, size, seconds, go, burst))
        p.start()
        go.set()
        t0 = time.perf_counter()
        get = q.get
        while get() is not None:
            count += 1
        t1 = time.perf_counter()
    elif case == "mp.Pipe":
        rd, wr = ctx.Pipe(duplex=False)
        p = ctx.Process(target=prod_pipe, args=(wr, size, seconds, go, burst))
        p.start()
        wr.close()
        go.set()
        t0 = time.perf_counter()
        recv = rd.recv_bytes
        while recv():
            count += 1
        t1 = time.perf_counter()
        rd.close()
    elif case == "zmq PUSH/PULL":
        endpoint = f"ipc://{tmp}/zmq-{os.getpid()}"
        zctx = zmq.Context()
        s = zctx.socket(zmq.PULL)
        # a bounded wait, so that a lost end marker is seen (LostEnd)
        s.setsockopt(zmq.RCVTIMEO, ZMQ_IDLE_MS)
        s.bind(endpoint)
        received = ctx.Event()   # the producer closes once this is set
        try:
            p = ctx.Process(target=prod_zmq,
                            args=(endpoint, size, seconds, go, burst, received))
            p.start()
            go.set()
            t0 = time.perf_counter()
            recv = s.recv
            while True:
                try:
                    if not recv():
                        received.set()
                        break
                except zmq.Again:
                    if p.is_alive():
                        continue
                    p.join()
                    raise LostEnd(f"{size} B: the producer exited {p.exitcode} and "
                                  f"{count} messages arrived, but not its end marker")
                count += 1
            t1 = time.perf_counter()
        finally:
            s.close(linger=0)
            zctx.term()
    else:
        raise ValueError(case)
    p.join()
    if p.exitcode != 0:
        raise RuntimeError(f"{case} {size} B: producer exited {p.exitcode}")
    return count / (t1 - t0)


ALL_CASES = ("shmring", "shmring burst", "mp.Queue", "mp.Pipe", "zmq PUSH/PULL")


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    return f"{x / 1e3:.0f} k"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,4096", help="message sizes in bytes (64,4096)")
    ap.add_argument("--reps", type=int, default=9, help="reps per case, interleaved (9)")
    ap.add_argument("--seconds", type=float, default=0.3, help="producer time per run (0.3)")
    ap.add_argument("--burst", type=int, default=256, help="messages per burst (256)")
    ap.add_argument("--cases", default=None,
                    help="comma-separated subset of: " + ", ".join(ALL_CASES))
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    cases = list(ALL_CASES) if a.cases is None else a.cases.split(",")
    for c in cases:
        if c not in ALL_CASES:
            ap.error(f"unknown case {c!r}")
    if "mp.Queue" not in cases:
        cases.append("mp.Queue")     # the reference of the ratio column
    notes = []
    if zmq is None and "zmq PUSH/PULL" in cases:
        cases.remove("zmq PUSH/PULL")
        notes.append("zmq PUSH/PULL: skipped, pyzmq is not installed "
                     "(Debian: python3-zmq, installed by make deps)")

    print(f"# python {platform.python_version()} ({sys.executable}), "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"{platform.platform()}")
    print(f"# library {shmring.library_path}; pyzmq "
          f"{zmq.pyzmq_version() + ' / libzmq ' + zmq.zmq_version() if zmq else '-'}")
    print(f"# {a.reps} interleaved reps x {len(cases) * len(sizes)} cases, "
          f"{a.seconds} s each; burst {a.burst}; shmring ring: SPSC, 1024 slots, "
          "default spin; no CPU pinning")
    results = {(c, s): [] for c in cases for s in sizes}
    with tempfile.TemporaryDirectory(prefix="shmring-bench-") as tmp:
        for rep in range(a.reps):
            for size in sizes:
                for case in cases:
                    try:
                        rate = run_case(case, size, a.seconds, a.burst, tmp)
                    except LostEnd as e:   # a loss is an error, not a run to redo
                        print(f"bench.py: {case} {e}", file=sys.stderr)
                        return 1
                    results[(case, size)].append(rate)
            print(f"# rep {rep + 1}/{a.reps} done", file=sys.stderr)

    print()
    # the ratio column: the median of each rep's ratio to mp.Queue in the same
    # rep (runs of one rep are close in time: they share the machine's mood)
    head = f"{'transport':<16}" + "".join(
        f"{f'{s} B msgs/s (median)':>24}{'min..max':>18}{'x Queue':>9}" for s in sizes)
    print(head)
    print("-" * len(head))
    for case in cases:
        row = f"{case:<16}"
        for s in sizes:
            v = results[(case, s)]
            ratio = statistics.median(x / q for x, q in zip(v, results[("mp.Queue", s)]))
            rng = f"{fmt_rate(min(v))}..{fmt_rate(max(v))}"
            row += f"{fmt_rate(statistics.median(v)):>24}{rng:>18}{ratio:>8.1f}x"
        print(row)
    print("# x Queue: median over the reps of (this case / mp.Queue in the same rep)")
    for n in notes:
        print(f"# {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
