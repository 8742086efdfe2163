#!/usr/bin/python3
"""peer.py - the Linux-kernel side of the namespace tests: plain sockets.

Every subcommand verifies what it received and exits non-zero on any
mismatch, printing one summary line.
"""
import argparse
import hashlib
import os
import selectors
import socket
import sys
import time


def pattern(n, seed):
    """n deterministic bytes that differ per seed and position."""
    out = bytearray(n)
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def echo_clients(a):
    """conns concurrent connections; each sends bytes and expects them back."""
    sel = selectors.DefaultSelector()
    block = pattern(65536, 7)
    state = {}
    deadline = time.time() + a.timeout
    for i in range(a.conns):
        s = socket.create_connection((a.ip, a.port), timeout=10)
        s.setblocking(False)
        st = {"sent": 0, "got": 0, "h_out": hashlib.sha256(),
              "h_in": hashlib.sha256(), "i": i}
        state[s] = st
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
    done = 0
    while done < a.conns:
        if time.time() > deadline:
            print(f"echo-clients: timeout, {done}/{a.conns} done")
            return 1
        for key, ev in sel.select(timeout=1):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and st["sent"] < a.bytes:
                off = (st["sent"] + st["i"]) % len(block)
                chunk = (block[off:] + block[:off])[:min(65536, a.bytes - st["sent"])]
                try:
                    n = s.send(chunk)
                except BlockingIOError:
                    n = 0
                st["h_out"].update(chunk[:n])
                st["sent"] += n
                if st["sent"] == a.bytes:
                    sel.modify(s, selectors.EVENT_READ, st)
            if ev & selectors.EVENT_READ:
                try:
                    d = s.recv(262144)
                except BlockingIOError:
                    continue
                if not d:
                    print(f"echo-clients: conn {st['i']} closed early at {st['got']}")
                    return 1
                st["h_in"].update(d)
                st["got"] += len(d)
                if st["got"] == a.bytes:
                    if st["h_in"].digest() != st["h_out"].digest():
                        print(f"echo-clients: conn {st['i']} data mismatch")
                        return 1
                    sel.unregister(s)
                    s.close()
                    done += 1
    print(f"echo-clients: {a.conns} connections x {a.bytes} bytes echoed intact")
    return 0


def echo_cycles(a):
    """n sequential connect / echo / close cycles."""
    for i in range(a.n):
        data = pattern(a.bytes, i)
        s = socket.create_connection((a.ip, a.port), timeout=10)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        if got != data:
            print(f"echo-cycles: cycle {i}: got {len(got)} bytes, mismatch")
            return 1
    print(f"echo-cycles: {a.n} cycles of {a.bytes} bytes intact")
    return 0


def source(a):
    """connect and send bytes, print their sha256."""
    s = socket.create_connection((a.ip, a.port), timeout=30)
    h = hashlib.sha256()
    block = pattern(1 << 20, 3)
    left = a.bytes
    t0 = time.time()
    while left:
        chunk = block[:min(left, len(block))]
        s.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    while s.recv(65536):
        pass
    s.close()
    dt = time.time() - t0
    print(f"source: sent {a.bytes} bytes in {dt:.2f} s, sha256 {h.hexdigest()}")
    return 0


def sink(a):
    """listen, receive one connection to EOF, print sha256."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(1)
    ls.settimeout(a.timeout)
    if a.ready:
        open(a.ready, "w").close()
    s, _ = ls.accept()
    s.settimeout(a.timeout)
    h = hashlib.sha256()
    n = 0
    t0 = time.time()
    while True:
        if a.pause_after and n >= a.pause_after:
            time.sleep(a.pause)
            a.pause_after = 0
        d = s.recv(262144)
        if not d:
            break
        h.update(d)
        n += len(d)
    s.close()
    dt = time.time() - t0
    print(f"sink: received {n} bytes in {dt:.2f} s, sha256 {h.hexdigest()}")
    return 0


def echo_server(a):
    """listen with a deep backlog and echo every byte on every connection,
    until killed or --timeout seconds pass; prints the totals at the end."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.max_conns + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want if hard == resource.RLIM_INFINITY
                            else min(want, hard), hard))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(a.backlog)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    if a.ready:
        open(a.ready, "w").close()
    accepted = echoed = 0
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            if s is ls:
                while True:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sel.register(c, selectors.EVENT_READ, [b""])
                    accepted += 1
                continue
            out = key.data
            if ev & selectors.EVENT_READ and not out[0]:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    d = b""
                if not d:
                    sel.unregister(s)
                    s.close()
                    continue
                out[0] = d
            try:
                n = s.send(out[0])
            except BlockingIOError:
                n = 0
            except ConnectionError:
                sel.unregister(s)
                s.close()
                continue
            echoed += n
            out[0] = out[0][n:]
            sel.modify(s, selectors.EVENT_WRITE if out[0]
                       else selectors.EVENT_READ, out)
    print(f"echo-server: {accepted} connections, {echoed} bytes echoed")
    return 0


def refused(a):
    try:
        socket.create_connection((a.ip, a.port), timeout=5)
    except ConnectionRefusedError:
        print("refused: connection refused, as expected")
        return 0
    except OSError as e:
        print(f"refused: unexpected error {e}")
        return 1
    print("refused: connection unexpectedly accepted")
    return 1


def reset(a):
    """connect, send a little, then abort with RST (SO_LINGER 0)."""
    import struct
    s = socket.create_connection((a.ip, a.port), timeout=5)
    s.sendall(b"x" * 100)
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("reset: sent RST")
    return 0


def tcpinfo(a):
    """connect, echo a little, check tcpi_options: TS, SACK, WSCALE (ECN)."""
    s = socket.create_connection((a.ip, a.port), timeout=5)
    s.sendall(b"hello")
    s.recv(5)
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    s.close()
    opts, ws = info[5], info[6]
    names = [n for bit, n in ((1, "ts"), (2, "sack"), (4, "wscale"),
                              (8, "ecn")) if opts & bit]
    print(f"tcpinfo: options {' '.join(names)} snd_wscale {ws & 15} "
          f"rcv_wscale {ws >> 4}")
    need = 1 | 2 | 4 | (8 if a.ecn else 0)
    return 0 if opts & need == need else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("echo-clients")
    c.add_argument("--ip", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--conns", type=int, default=1)
    c.add_argument("--bytes", type=int, default=1 << 20)
    c.add_argument("--timeout", type=float, default=120)
    c = sub.add_parser("echo-cycles")
    c.add_argument("--ip", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--n", type=int, default=500)
    c.add_argument("--bytes", type=int, default=1000)
    c = sub.add_parser("source")
    c.add_argument("--ip", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--bytes", type=int, required=True)
    c = sub.add_parser("sink")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--timeout", type=float, default=120)
    c.add_argument("--ready")
    c.add_argument("--pause-after", type=int, default=0)
    c.add_argument("--pause", type=float, default=0)
    c = sub.add_parser("echo-server")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--backlog", type=int, default=65535)
    c.add_argument("--max-conns", type=int, default=1024)
    c.add_argument("--timeout", type=float, default=120)
    c.add_argument("--ready")
    c = sub.add_parser("tcpinfo")
    c.add_argument("--ip", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--ecn", action="store_true")
    for name in ("refused", "reset"):
        c = sub.add_parser(name)
        c.add_argument("--ip", required=True)
        c.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    fn = {"echo-clients": echo_clients, "echo-cycles": echo_cycles,
          "source": source, "sink": sink, "echo-server": echo_server,
          "tcpinfo": tcpinfo, "refused": refused,
          "reset": reset}[a.cmd]
    sys.exit(fn(a))


if __name__ == "__main__":
    main()
