#!/usr/bin/env python3
"""sockets_mc.py - memcached text-protocol load with every value verified.

Usage: sockets_mc.py HOST PORT CONNS KEYS_PER_CONN
Each connection (one thread) SETs KEYS_PER_CONN keys with random values of
1..4000 bytes, then GETs every key (singly and in multi-gets of 10) and
compares. Prints one summary line; exits 1 on any mismatch or error.
Bounded: every socket has a 20 s timeout.
"""
import os
import socket
import sys
import threading


def recv_until(sock, buf, term):
    while term not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    i = buf.index(term) + len(term)
    return buf[:i], buf[i:]


def read_values(sock, buf):
    vals = {}
    while True:
        line, buf = recv_until(sock, buf, b"\r\n")
        if line == b"END\r\n":
            return vals, buf
        parts = line.split()
        if parts[0] != b"VALUE":
            raise ValueError("bad line %r" % line)
        n = int(parts[3])
        while len(buf) < n + 2:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        vals[parts[1].decode()] = buf[:n]
        buf = buf[n + 2:]


def worker(host, port, cid, nkeys, res):
    try:
        s = socket.create_connection((host, port), timeout=20)
        buf = b""
        want = {}
        for k in range(nkeys):
            key = "c%dk%d" % (cid, k)
            val = os.urandom(1 + (k * 997 + cid) % 4000)
            want[key] = val
            s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key.encode(), len(val), val))
            line, buf = recv_until(s, buf, b"\r\n")
            if line != b"STORED\r\n":
                raise ValueError("set: %r" % line)
        keys = list(want)
        for k in keys[: nkeys // 2]:
            s.sendall(b"get %s\r\n" % k.encode())
            vals, buf = read_values(s, buf)
            if vals.get(k) != want[k]:
                raise ValueError("mismatch on %s" % k)
        rest = keys[nkeys // 2:]
        for i in range(0, len(rest), 10):
            batch = rest[i:i + 10]
            s.sendall(b"get " + " ".join(batch).encode() + b"\r\n")
            vals, buf = read_values(s, buf)
            for k in batch:
                if vals.get(k) != want[k]:
                    raise ValueError("mismatch on %s" % k)
        s.close()
        res[cid] = nkeys
    except Exception as e:  # noqa: BLE001 - report any failure
        res[cid] = "conn %d: %s" % (cid, e)


def main():
    host, port, conns, nkeys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    res = {}
    ts = [threading.Thread(target=worker, args=(host, port, c, nkeys, res)) for c in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    errs = [v for v in res.values() if not isinstance(v, int)]
    ok = sum(v for v in res.values() if isinstance(v, int))
    print("memcached: %d connections, %d values verified, %d errors" % (conns, ok, len(errs) + conns - len(res)))
    for e in errs[:5]:
        print(e)
    sys.exit(0 if not errs and len(res) == conns else 1)


if __name__ == "__main__":
    main()
