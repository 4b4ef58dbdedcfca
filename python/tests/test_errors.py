# SPDX-License-Identifier: MIT
"""Every error path: each negative errno the library returns becomes the
Python exception it maps to, with the errno and the ring's name."""
import errno
import os
import resource
import signal
import time

import pytest

import shmring
from shmring import Ring
from shmring._errors import error


def check(excinfo, code, name):
    e = excinfo.value
    assert isinstance(e, OSError) and e.errno == code
    assert e.filename == name and repr(name) in str(e)


def in_child(fn) -> int:
    """Run fn() in a forked child; its return value is the exit status."""
    pid = os.fork()
    if pid == 0:
        try:
            code = fn()
        except BaseException:       # noqa: BLE001
            code = 99
        os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_mapping_table():
    table = {errno.EAGAIN: BlockingIOError, errno.ETIMEDOUT: TimeoutError,
             errno.EPIPE: BrokenPipeError, errno.EACCES: PermissionError,
             errno.EPERM: PermissionError, errno.EEXIST: FileExistsError,
             errno.ENOENT: FileNotFoundError, errno.EINVAL: shmring.RingValueError,
             errno.EMSGSIZE: shmring.MessageSizeError, errno.EPROTO: shmring.ProtocolError,
             errno.EBADMSG: shmring.CorruptMessageError}
    for code, cls in table.items():
        e = error(-code, "/r", "op")
        assert type(e) is cls and e.errno == code and e.filename == "/r"
        assert str(e).startswith(f"[Errno {code}] op: ")
    for cls in (shmring.RingValueError, shmring.MessageSizeError):
        assert issubclass(cls, ValueError) and issubclass(cls, OSError)
    assert issubclass(shmring.CorruptMessageError, shmring.ProtocolError)
    e = error(-errno.EBUSY, "/r", "open")
    assert type(e) is OSError and e.errno == errno.EBUSY and "role held" in str(e)
    assert type(error(-errno.ENOTDIR, "/r", "open")) is NotADirectoryError


def test_blocking_and_timeout(name):
    with Ring.create(name, slots=2, slot_size=8, role="both") as r:
        with pytest.raises(BlockingIOError) as ei:
            r.recv(timeout=0)
        check(ei, errno.EAGAIN, name)
        for op in (lambda: r.recv_many(2, timeout=0), lambda: r.acquire(timeout=0),
                   lambda: r.recv_into(bytearray(8), timeout=0)):
            with pytest.raises(BlockingIOError):
                op()
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            r.recv(timeout=0.05)
        assert time.monotonic() - t0 >= 0.045
        check(ei, errno.ETIMEDOUT, name)
        r.send(b"1")
        r.send(b"2")
        with pytest.raises(BlockingIOError):
            r.send(b"3", timeout=0)
        with pytest.raises(BlockingIOError):
            r.reserve(timeout=0)
        with pytest.raises(BlockingIOError):
            r.send_many([b"3"], timeout=0)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            r.send(bytearray(b"3"), timeout=0.25)    # longer than one 0.1 s slice
        assert 0.24 <= time.monotonic() - t0 < 2
        with pytest.raises(ValueError):
            r.recv(timeout=-1)


def test_broken_pipe(name):
    with Ring.create(name, slots=2, slot_size=8, role="producer") as p:
        c = Ring.open(name, role="consumer")
        p.send(b"a")
        p.send(b"b")
        c.close()                         # every consumer gone, ring full
        with pytest.raises(BrokenPipeError) as ei:
            p.send(b"c")
        check(ei, errno.EPIPE, name)
        p.shutdown()
        with pytest.raises(BrokenPipeError):
            p.reserve()
    with Ring.open(name, role="consumer") as c:
        assert c.recv() == b"a" and c.recv() == b"b"
        with pytest.raises(BrokenPipeError):
            c.recv()
        with pytest.raises(BrokenPipeError):
            c.acquire()


def test_exists_and_missing(name):
    with Ring.create(name, slots=2, slot_size=8):
        with pytest.raises(FileExistsError) as ei:
            Ring.create(name, slots=2, slot_size=8)
        check(ei, errno.EEXIST, name)
    shmring.unlink(name)
    with pytest.raises(FileNotFoundError) as ei:
        Ring.open(name)
    check(ei, errno.ENOENT, name)
    with pytest.raises(FileNotFoundError):
        shmring.unlink(name)


def test_invalid_arguments(name):
    with pytest.raises(shmring.RingValueError) as ei:
        Ring.create(name, slots=3, slot_size=8)          # not a power of two
    check(ei, errno.EINVAL, name)
    assert isinstance(ei.value, ValueError)
    with pytest.raises(shmring.RingValueError):
        Ring.create(name, slots=4, slot_size=0)
    with pytest.raises(ValueError):
        Ring.create("/" + "n" * 300, slots=4, slot_size=8)
    with pytest.raises(ValueError):
        Ring.create(name, slots=4, slot_size=8, kind="spmc")
    with pytest.raises(ValueError):
        Ring.create(name, slots=4, slot_size=8, role="reader")
    with pytest.raises(ValueError):
        Ring.open("bad\0name")
    with pytest.raises(ValueError):
        Ring.open("")
    with pytest.raises(TypeError):
        Ring.open(42)
    with pytest.raises(TypeError):
        Ring()


def test_wrong_role(name):
    with Ring.create(name, slots=4, slot_size=8, role="consumer") as c, \
            Ring.open(name, role="producer") as p, Ring.open(name) as o:
        for op in (lambda: c.send(b"x"), lambda: c.send_many([b"x"]), c.reserve, c.shutdown):
            with pytest.raises(shmring.RingValueError, match="not a producer") as ei:
                op()
            check(ei, errno.EINVAL, name)
        for op in (p.recv, lambda: p.recv_many(1), p.acquire, lambda: p.recv_into(bytearray(8))):
            with pytest.raises(shmring.RingValueError, match="not a consumer"):
                op()
        with pytest.raises(shmring.RingValueError):
            shmring.poll([(o, shmring.POLLIN)], timeout=0)
        with pytest.raises(shmring.RingValueError):
            o.recv(timeout=0)


def test_role_busy(name):
    with Ring.create(name, slots=4, slot_size=8, role="consumer"):
        with pytest.raises(OSError) as ei:
            Ring.open(name, role="consumer")           # SPSC: one consumer
        check(ei, errno.EBUSY, name)
        assert type(ei.value) is OSError


def test_message_size(name):
    with Ring.create(name, slots=4, slot_size=8, role="both") as r:
        with pytest.raises(shmring.MessageSizeError) as ei:
            r.send(b"123456789")
        check(ei, errno.EMSGSIZE, name)
        assert "9 bytes, slot size 8" in str(ei.value)
        with pytest.raises(shmring.MessageSizeError):
            r.send(bytearray(9))
        with pytest.raises(shmring.MessageSizeError):
            r.send_many([b"ok", b"123456789"])
        assert r.info().used == 0                      # nothing of that round went
        r.send(b"12345678")
        with pytest.raises(shmring.MessageSizeError):
            r.recv_into(bytearray(4))                  # the message stays
        assert r.recv() == b"12345678"
        with r.reserve() as slot:
            with pytest.raises(shmring.MessageSizeError):
                slot.commit(9)
            slot.commit(8)


def test_closed(name):
    r = Ring.create(name, slots=4, slot_size=8, role="both")
    r.close()
    for op in (lambda: r.send(b"x"), r.recv, lambda: r.recv_many(2), r.info, r.stats,
               r.reserve, r.acquire, r.shutdown, r.fileno, lambda: r.send_many([b"x"]),
               lambda: r.set_spin(0)):
        with pytest.raises(ValueError, match="closed"):
            op()


def test_permission(name):
    """-EACCES from open, and -EPERM from a refused mlock, as a process
    without privileges (a forked child that dropped them, when we are root)."""
    Ring.create(name, slots=4, slot_size=8, mode=0o600).close()

    def open_it():
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        else:
            os.chmod(f"/dev/shm{name}", 0)
        try:
            Ring.open(name, role="consumer")
        except PermissionError as e:
            return 0 if e.errno == errno.EACCES and e.filename == name else 2
        return 1
    assert in_child(open_it) == 0

    def mlock_refused():
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        try:
            Ring.create(name + "-mlock", slots=4, slot_size=8, flags=shmring.MLOCK).close()
        except PermissionError as e:
            return 0 if e.errno == errno.EPERM else 2
        except OSError as e:
            return 10 + e.errno % 100
        finally:
            try:
                shmring.unlink(name + "-mlock")
            except OSError:
                pass
        return 1
    assert in_child(mlock_refused) == 0


def test_protocol_error(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\xab" * 65536)
    os.utime(junk, (time.time() - 60, time.time() - 60))   # not a ring being made
    with pytest.raises(shmring.ProtocolError) as ei:
        Ring.open(str(junk))
    check(ei, errno.EPROTO, str(junk))


def test_corrupt_message(tmp_path):
    path = str(tmp_path / "ring")
    with Ring.create(path, slots=4, slot_size=16, role="both") as r:
        r.send(b"good")
        # slot 0 sits after the 8 KiB header: its length word says 4 GiB
        with open(path, "r+b") as f:
            f.seek(8192)
            f.write(b"\xff\xff\xff\xff")
        with pytest.raises(shmring.CorruptMessageError) as ei:
            r.recv()
        check(ei, errno.EBADMSG, path)
        r.send(b"after")                       # the ring stays usable
        assert r.recv() == b"after"
        assert r.stats().bad_msgs == 1


def test_inherited_across_fork(name):
    with Ring.create(name, slots=4, slot_size=8, role="both") as r:
        def use_parents():
            try:
                r.send(b"from the child")
            except shmring.RingValueError as e:
                return 0 if "fork" in str(e) else 2
            return 1
        assert in_child(use_parents) == 0
        assert r.info().used == 0


def test_signal_interrupts_a_wait(name):
    """A wait without timeout still lets signal handlers run (Ctrl-C)."""
    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm
    old = signal.signal(signal.SIGALRM, handler)
    try:
        with Ring.create(name, slots=2, slot_size=8, role="consumer") as c:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            t0 = time.monotonic()
            with pytest.raises(Alarm):
                c.recv()
            assert time.monotonic() - t0 < 1
            with pytest.raises(BlockingIOError):    # the Ring is still usable
                c.recv(timeout=0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
