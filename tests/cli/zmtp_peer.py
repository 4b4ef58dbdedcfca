#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""zmtp_peer.py - a bare ZMTP 3.0 peer (NULL mechanism, plain sockets, no
pyzmq) that stands in for a bridge of another wire-format version, or reads
what a bridge sends, for tests/cli/test_bridge.sh:

  zmtp_peer.py v1-sender PORT   connect as PUSH to 127.0.0.1:PORT and send
                                what a version-1 sending bridge sends: two
                                messages as they are, then its end record
  zmtp_peer.py bad-batch PORT   connect as PUSH, send a version-2 hello, then
                                a batch whose record overruns it
  zmtp_peer.py end PORT REASON  connect as PUSH, send a version-2 hello, a
                                batch of two records ("one", "two"), then the
                                end record "... end REASON 2 6"
  zmtp_peer.py oversize PORT    connect as PUSH, send a version-2 hello, then
                                one batch of valid records 32 MiB long (more
                                than a sending bridge ever makes); it
                                exits 0 whether the receiver takes it or
                                drops the connection
  zmtp_peer.py pull PORT        listen as PULL on 127.0.0.1:PORT, take one
                                sender's stream up to its end record, and
                                print it decoded: "hello TEXT", "msg HEX"
                                for each record of each batch, "batch N"
                                (records in it) after each batch, "end TEXT"
"""
import socket
import struct
import sys

GREETING = (b"\xff" + bytes(8) + b"\x7f" + bytes([3, 0]) +
            b"NULL".ljust(20, b"\0") + bytes(32))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            raise EOFError("connection closed")
        buf += part
    return buf


def send_frame(s, body, flags=0):
    if len(body) > 255:
        s.sendall(bytes([flags | 2]) + struct.pack(">Q", len(body)) + body)
    else:
        s.sendall(bytes([flags, len(body)]) + body)


def recv_frame(s):
    """(flags, body) of the next frame"""
    flags = recv_exact(s, 1)[0]
    size = (struct.unpack(">Q", recv_exact(s, 8))[0] if flags & 2
            else recv_exact(s, 1)[0])
    return flags, recv_exact(s, size)


def handshake(s, socket_type):
    s.sendall(GREETING)
    peer = recv_exact(s, 64)
    assert peer[0] == 0xFF and peer[9] == 0x7F and peer[10] == 3, "not ZMTP 3"
    ready = (b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) +
             socket_type)
    send_frame(s, ready, flags=4)
    while True:   # the peer's READY (a command frame)
        flags, body = recv_frame(s)
        if flags & 4 and body.startswith(b"\x05READY"):
            return


def send_msg(s, parts):
    for i, p in enumerate(parts):
        send_frame(s, p, flags=1 if i + 1 < len(parts) else 0)


def recv_msg(s):
    parts = []
    while True:
        flags, body = recv_frame(s)
        if flags & 4:      # a command (none expected after READY): skip
            continue
        parts.append(body)
        if not flags & 1:
            return parts


def push(port, msgs):
    s = socket.create_connection(("127.0.0.1", port))
    handshake(s, b"PUSH")
    for m in msgs:
        send_msg(s, m)
    wait_close(s)
    s.close()


def wait_close(s):
    """wait until the receiver closes the connection (it exits after the end
    record, or after refusing a message), so that ours closes after all
    was read"""
    s.settimeout(20)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass


def pull(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(20)
    s, _ = ls.accept()
    s.settimeout(20)
    handshake(s, b"PULL")
    while True:
        parts = recv_msg(s)
        if len(parts) == 2 and parts[0] == b"":
            text = parts[1].decode()
            if " end hello " in text:
                print("hello", text)
                continue
            print("end", text)
            break
        assert len(parts) == 1, "a data message of %d parts" % len(parts)
        batch, off, n = parts[0], 0, 0
        while off < len(batch):
            (length,) = struct.unpack_from("<I", batch, off)
            off += 4
            assert off + length <= len(batch), "a record overruns its batch"
            print("msg", batch[off:off + length].hex())
            off += length
            n += 1
        print("batch", n)
    sys.stdout.flush()
    s.close()
    ls.close()


HELLO = [b"", b"shmring-bridge 2 end hello 0 0"]


def record(body):
    return struct.pack("<I", len(body)) + body


def oversize(port):
    """a batch of 60000-byte records, 32 MiB in all: each record fits a
    ring of the default slot size, the batch is over 100 times what a
    sending bridge makes"""
    n = 32 * 1024 * 1024 // 60004 + 1
    batch = b"".join(record(bytes([i % 251]) * 60000) for i in range(n))
    s = socket.create_connection(("127.0.0.1", port))
    handshake(s, b"PUSH")
    try:
        send_msg(s, HELLO)
        send_msg(s, [batch])
        send_msg(s, [b"", b"shmring-bridge 2 end clean %d %d" % (n, n * 60000)])
        wait_close(s)
    except (BrokenPipeError, ConnectionResetError):
        print("the receiver dropped the connection", file=sys.stderr)
    s.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "v1-sender":
        push(port, [[b"one\n"], [b"two\n"],
                    [b"", b"shmring-bridge 1 end clean 2 8"]])
    elif mode == "bad-batch":
        push(port, [[b"", b"shmring-bridge 2 end hello 0 0"],
                    [struct.pack("<I", 3) + b"abc" + struct.pack("<I", 100) + b"short"]])
    elif mode == "end":
        push(port, [HELLO, [record(b"one") + record(b"two")],
                    [b"", b"shmring-bridge 2 end %s 2 6" % sys.argv[3].encode()]])
    elif mode == "oversize":
        oversize(port)
    elif mode == "pull":
        pull(port)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
