# SPDX-License-Identifier: MIT
"""The C ABI of libshmring.so.3, declared for ctypes (no compiler involved).

Everything here mirrors include/shmring.h and include/shmring/handle.h of
library version 3.2 (soname libshmring.so.3; 3.1 added shmring_abort and
shmring_end_reason, 3.2 broadcast rings and shmring_subscriber_info). The inline fast paths of the
header (shmring_send, shmring_recv, shmring_reserve, ...) are not in the
shared library; their exported out-of-line twins (shmring__send_slow and
the like) handle every case, only without the inline shortcut.

The library is found, in this order:

1. ``SHMRING_LIB``: the path of the shared library (no fallback when set);
2. the installed library: ``libshmring.so.3`` through the dynamic loader
   (``LD_LIBRARY_PATH``, ``ldconfig``'s cache), then what
   ``ctypes.util.find_library("shmring")`` names, if it is version 3;
3. a build tree next to the package (``python/../build/libshmring.so.3``),
   for the in-tree tests.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (POINTER, Structure, c_char_p, c_int, c_int32, c_int64,
                    c_size_t, c_ssize_t, c_uint, c_uint8, c_uint32, c_uint64,
                    c_void_p)

SONAME = "libshmring.so.3"

# constants of include/shmring.h
SPSC = 1
MPMC = 2
BROADCAST = 3
PRODUCER = 1
CONSUMER = 2
PREFAULT = 0x1
HUGEPAGES = 0x2
MLOCK = 0x4
OVERWRITE = 0x8
PACKED = 0x10
POLLIN = 1
POLLOUT = 2
POLL_MAX = 128
END_CLEAN = 1      # SHMRING_END_*: shmring_end_reason()
END_ABORTED = 2
END_DIED = 3
MAX_PEERS = 64
MAX_SLOT_SIZE = 1 << 30
MAX_SLOTS = 1 << 32
DEFAULT_SPIN_NS = 20000


class Config(Structure):
    """struct shmring_config"""
    _fields_ = [
        ("kind", c_uint),
        ("slot_size", c_uint32),
        ("slots", c_uint64),
        ("mode", c_uint),          # mode_t: unsigned int on Linux
        ("flags", c_uint),
    ]


class Slot(Structure):
    """struct shmring_slot"""
    _fields_ = [
        ("data", c_void_p),
        ("len", c_size_t),
        ("pos", c_uint64),
    ]


class Peer(Structure):
    """struct shmring_peer"""
    _fields_ = [
        ("pid", c_int32),
        ("alive", c_uint8),
        ("shut_down", c_uint8),
        ("other_pidns", c_uint8),
        ("index", c_uint8),
    ]


class Info(Structure):
    """struct shmring_info"""
    _fields_ = [
        ("kind", c_uint),
        ("slot_size", c_uint32),
        ("slots", c_uint64),
        ("mem_size", c_uint64),
        ("prod_idx", c_uint64),
        ("cons_idx", c_uint64),
        ("used", c_uint64),
        ("roles", c_uint),
        ("nproducers", c_uint),
        ("nconsumers", c_uint),
        ("eof", c_int),
        ("shutdowns", c_uint32),
        ("stream_epoch", c_uint32),
        ("stream_ended", c_int),
        ("consumer_attaches", c_uint32),
        ("prod_deaths", c_uint32),
        ("cons_deaths", c_uint32),
        ("creator_pid", c_int32),
        ("created_ns", c_uint64),
        ("producers", Peer * MAX_PEERS),
        ("consumers", Peer * MAX_PEERS),
        ("spin_ns", c_int64),
        ("flags", c_uint),
        ("data_size", c_uint64),
    ]


class Subscriber(Structure):
    """struct shmring_subscriber"""
    _fields_ = [
        ("pid", c_int32),
        ("index", c_uint8),
        ("alive", c_uint8),
        ("self", c_uint8),
        ("stalling", c_uint8),
        ("position", c_uint64),
        ("lag", c_uint64),
        ("start", c_uint64),
        ("delivered", c_uint64),
        ("overruns", c_uint64),
        ("reserved", c_uint64 * 3),
    ]


class Stats(Structure):
    """struct shmring_stats"""
    _fields_ = [(f, c_uint64) for f in (
        "sent", "received", "sent_bytes", "recv_bytes", "full_waits",
        "empty_waits", "prod_wakes", "cons_wakes", "bad_msgs", "orphans",
        "abandoned", "membarriers", "overruns")]


class PollItem(Structure):
    """struct shmring_pollitem"""
    _fields_ = [
        ("ring", c_void_p),
        ("events", c_uint),
        ("revents", c_uint),
    ]


# sizes on LP64 Linux (x86-64, aarch64), derived from the header; the tests
# compare them with ctypes.sizeof and the field values with the CLI's JSON
ABI_SIZES = {"Config": 24, "Slot": 24, "Peer": 8, "Info": 1152, "Stats": 104,
             "PollItem": 16, "Subscriber": 72}

_HANDLE_OUT = POINTER(c_void_p)

# name: (restype, argtypes)
_PROTOS = {
    "shmring_create": (c_int, [c_char_p, POINTER(Config), c_int, _HANDLE_OUT]),
    "shmring_open": (c_int, [c_char_p, c_int, _HANDLE_OUT]),
    "shmring_create_file": (c_int, [c_char_p, POINTER(Config), c_int, _HANDLE_OUT]),
    "shmring_open_file": (c_int, [c_char_p, c_int, _HANDLE_OUT]),
    "shmring_create_memfd": (c_int, [POINTER(Config), c_int, _HANDLE_OUT]),
    "shmring_open_fd": (c_int, [c_int, c_int, _HANDLE_OUT]),
    "shmring_fd": (c_int, [c_void_p]),
    "shmring_close": (None, [c_void_p]),
    "shmring_unlink": (c_int, [c_char_p]),
    "shmring__send_slow": (c_int, [c_void_p, c_void_p, c_size_t, c_int64]),
    "shmring__recv_slow": (c_ssize_t, [c_void_p, c_void_p, c_size_t, c_int64]),
    "shmring_send_burst": (c_int, [c_void_p, c_void_p, c_uint, c_int64]),
    "shmring_recv_burst": (c_int, [c_void_p, c_void_p, c_uint, c_int64]),
    "shmring__reserve_slow": (c_int, [c_void_p, POINTER(Slot), c_int64]),
    "shmring__commit_slow": (c_int, [c_void_p, POINTER(Slot), c_size_t]),
    "shmring__acquire_slow": (c_int, [c_void_p, POINTER(Slot), c_int64]),
    "shmring__release_slow": (c_int, [c_void_p, POINTER(Slot)]),
    "shmring_shutdown": (c_int, [c_void_p]),
    "shmring_abort": (c_int, [c_void_p]),
    "shmring_end_reason": (c_int, [c_void_p]),
    "shmring_set_spin": (c_int, [c_void_p, c_int64]),
    "shmring_info": (c_int, [c_void_p, POINTER(Info)]),
    "shmring_stats": (c_int, [c_void_p, POINTER(Stats)]),
    "shmring_subscriber_info": (c_int, [c_void_p, POINTER(Subscriber), c_uint]),
    "shmring_strerror": (c_char_p, [c_int]),
    "shmring_poll": (c_int, [POINTER(PollItem), c_uint, c_int64]),
    "shmring_event_fd": (c_int, [c_void_p]),
    "shmring_arm": (c_int, [c_void_p]),
}


def _candidates() -> list[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    found = [SONAME]
    other = ctypes.util.find_library("shmring")
    if other and other != SONAME and other.endswith(".so.3"):
        found.append(other)
    if os.path.isfile(os.path.join(here, "..", "pyproject.toml")):
        # a source tree (python/shmring): the library of ../build
        found.append(os.path.normpath(os.path.join(here, "..", "..", "build", SONAME)))
    return found


def _load() -> ctypes.CDLL:
    env = os.environ.get("SHMRING_LIB")
    if env:
        try:
            lib = ctypes.CDLL(env)
        except OSError as e:
            raise ImportError(f"shmring: cannot load SHMRING_LIB={env!r}: {e}") from e
    else:
        lib = None
        tried = []
        for cand in _candidates():
            if os.sep in cand and not os.path.exists(cand):
                tried.append(cand)
                continue
            try:
                lib = ctypes.CDLL(cand)
                break
            except OSError:
                tried.append(cand)
        if lib is None:
            raise ImportError(
                "shmring: the C library libshmring.so.3 was not found (tried: "
                + ", ".join(tried) + "). Install it (make install, then ldconfig), "
                "or set SHMRING_LIB to the path of libshmring.so.3 (for example "
                "SHMRING_LIB=/path/to/shmring/build/libshmring.so.3)")
    missing = [name for name in _PROTOS if not hasattr(lib, name)]
    if missing:
        raise ImportError(
            f"shmring: {getattr(lib, '_name', lib)} is not libshmring 3.2 or later "
            f"(missing {', '.join(missing)}); point SHMRING_LIB at libshmring.so.3 "
            "of version 3.2 or later")
    for name, (res, args) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


lib = _load()
path: str = lib._name


def strerror(rc: int) -> str:
    """shmring_strerror(): a description of a return code (either sign)."""
    s = lib.shmring_strerror(rc)
    return s.decode("utf-8", "replace") if s else f"error {rc}"
