# SPDX-License-Identifier: MIT
"""The ctypes declarations against the C library: struct sizes and offsets
derived from include/shmring.h, the values shmring_info/shmring_stats return
against what the C tool prints (`shmring info --json`), and the version."""
import ctypes
import json
import os
import re
import subprocess
import sys

import shmring
from shmring import _capi

from conftest import TREE


def test_struct_sizes():
    for cls, size in _capi.ABI_SIZES.items():
        assert ctypes.sizeof(getattr(_capi, cls)) == size, cls


def test_info_offsets():
    # unsigned kind .. int32 creator_pid: 23 4-byte words after 5 uint64s;
    # created_ns at 96, the two peer arrays (64 x 8 bytes), spin_ns last
    assert _capi.Info.created_ns.offset == 96
    assert _capi.Info.producers.offset == 104
    assert _capi.Info.consumers.offset == 104 + 512
    assert _capi.Info.spin_ns.offset == 1128
    assert _capi.Info.flags.offset == 1136 and _capi.Info.data_size.offset == 1144
    assert _capi.Stats.overruns.offset == 96
    assert _capi.Stats.membarriers.offset == 88
    assert _capi.PollItem.events.offset == 8
    assert _capi.Config.mode.offset == 16 and _capi.Config.flags.offset == 20
    # struct shmring_subscriber: pid, four bytes, five uint64s, reserved[3]
    assert _capi.Subscriber.stalling.offset == 7 and _capi.Subscriber.position.offset == 8
    assert _capi.Subscriber.overruns.offset == 40 and _capi.Subscriber.reserved.offset == 48


def test_constants_match_header():
    hdr = open(os.path.join(TREE, "include", "shmring.h")).read()

    def define(name):
        m = re.search(rf"#define {name}\s+\(?([0-9x]+)u?", hdr)
        assert m, name
        return int(m.group(1), 0)

    for name, value in [("SHMRING_SPSC", shmring._capi.SPSC), ("SHMRING_MPMC", shmring._capi.MPMC),
                        ("SHMRING_BROADCAST", shmring._capi.BROADCAST),
                        ("SHMRING_PRODUCER", shmring.PRODUCER),
                        ("SHMRING_CONSUMER", shmring.CONSUMER),
                        ("SHMRING_PREFAULT", shmring.PREFAULT),
                        ("SHMRING_HUGEPAGES", shmring.HUGEPAGES), ("SHMRING_MLOCK", shmring.MLOCK),
                        ("SHMRING_OVERWRITE", shmring.OVERWRITE),
                        ("SHMRING_PACKED", shmring.PACKED),
                        ("SHMRING_POLLIN", shmring.POLLIN), ("SHMRING_POLLOUT", shmring.POLLOUT),
                        ("SHMRING_POLL_MAX", shmring.POLL_MAX),
                        ("SHMRING_DEFAULT_SPIN_NS", shmring.DEFAULT_SPIN_NS)]:
        assert define(name) == value, name
    version = ".".join(str(define(f"SHMRING_VERSION_{p}")) for p in ("MAJOR", "MINOR", "PATCH"))
    assert shmring.__version__ == version
    assert shmring.SONAME == f"libshmring.so.{define('SHMRING_VERSION_MAJOR')}"


def test_info_and_stats_match_cli(name, cli):
    with shmring.Ring.create(name, slots=16, slot_size=100, role="producer") as p, \
            shmring.Ring.open(name, role="consumer") as c:
        for i in range(11):
            p.send(b"x" * i)
        for _ in range(4):
            c.recv()
        c.set_spin(12345)
        out = subprocess.run([cli, "info", "--json", name], capture_output=True, check=True)
        js = json.loads(out.stdout)
        info = c.info()
        stats = c.stats()
    assert js["kind"] == info.kind == "spsc"
    for f in ("slot_size", "slots", "mem_size", "prod_idx", "cons_idx", "used",
              "shutdowns", "creator_pid", "created_ns"):
        assert js[f] == getattr(info, f), f
    assert (info.slot_size, info.slots, info.prod_idx, info.cons_idx, info.used) == (100, 16, 11, 4, 7)
    assert info.creator_pid == os.getpid()
    assert js["eof"] is info.eof is False
    assert info.roles == shmring.CONSUMER
    assert info.nproducers == info.nconsumers == 1
    assert [(q["pid"], q["alive"]) for q in js["producers"]] == \
        [(q.pid, q.alive) for q in info.producers] == [(os.getpid(), True)]
    assert [q["pid"] for q in js["consumers"]] == [q.pid for q in info.consumers]
    assert info.spin_ns == 12345
    for f in ("sent", "received", "full_waits", "empty_waits", "prod_wakes", "cons_wakes",
              "bad_msgs", "orphans", "membarriers", "overruns"):
        assert js["stats"][f] == getattr(stats, f), f
    assert js["stats"]["prod_deaths"] == info.prod_deaths
    assert (stats.sent, stats.received) == (11, 4)
    assert stats.recv_bytes == 0 + 1 + 2 + 3   # shmring_stats flushes this handle's count


def test_library_lookup(tmp_path):
    assert os.path.basename(shmring.library_path).startswith("libshmring.so.3")
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k != "SHMRING_LIB"}
    env["PYTHONPATH"] = pkg
    # without SHMRING_LIB: the installed library, else this tree's build/
    r = subprocess.run([sys.executable, "-c", "import shmring; print(shmring.library_path)"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "libshmring.so.3" in r.stdout
    # SHMRING_LIB naming a missing file: a clear ImportError that names it
    env["SHMRING_LIB"] = str(tmp_path / "nope.so")
    r = subprocess.run([sys.executable, "-c", "import shmring"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "SHMRING_LIB" in r.stderr and "nope.so" in r.stderr
