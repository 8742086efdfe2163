#!/usr/bin/python3
"""check_ours.py FILE - let scapy judge frames built by our emitters

Each line of FILE is "NAME HEX key=value ...": a frame in hex and the field
values we meant to put in it. For each frame scapy dissects the bytes,
recomputes every IPv4, TCP and ICMP checksum (delete chksum, rebuild,
compare) and checks each key. Prints "OK NAME" or "FAIL NAME: reasons", one
line per frame. Exits 77 after printing "SKIP reason" when scapy is missing.

Keys: etype edst esrc | arp_op arp_hwsrc arp_psrc arp_hwdst arp_pdst |
ip_src ip_dst ip_ttl ip_id ip_tos ip_len ip_proto ip_df |
sport dport seq ack flags window urg dataofs opts (kind names, comma
separated, in wire order) mss wscale sackok ts (val,ecr) sack (l,r,...) |
icmp_type icmp_id icmp_seq | payload (hex, "-" for none)
"""
import sys

try:
    from scapy.all import ARP, ICMP, IP, TCP, Ether, Raw
except ImportError as e:
    print("SKIP scapy not importable: %s" % e)
    sys.exit(77)


def recompute(pkt, layer):
    q = pkt.copy()
    del q[layer].chksum
    return Ether(bytes(q))[layer].chksum


def opt_names(opts):
    return ",".join(str(n) for n, _ in opts if n != "EOL")


def opt(opts, name):
    for n, v in opts:
        if n == name:
            return v
    return None


def getters(p):
    g = {
        "etype": lambda: "0x%04x" % p.type,
        "edst": lambda: p.dst,
        "esrc": lambda: p.src,
    }
    if ARP in p:
        a = p[ARP]
        g.update(arp_op=lambda: str(a.op), arp_hwsrc=lambda: a.hwsrc,
                 arp_psrc=lambda: a.psrc, arp_hwdst=lambda: a.hwdst,
                 arp_pdst=lambda: a.pdst)
    if IP in p:
        i = p[IP]
        g.update(ip_src=lambda: i.src, ip_dst=lambda: i.dst,
                 ip_ttl=lambda: str(i.ttl), ip_id=lambda: str(i.id),
                 ip_tos=lambda: str(i.tos), ip_len=lambda: str(i.len),
                 ip_proto=lambda: str(i.proto),
                 ip_df=lambda: "1" if i.flags.DF and not i.flags.MF and
                 i.frag == 0 else "0")
    if TCP in p:
        t = p[TCP]
        o = t.options
        g.update(sport=lambda: str(t.sport), dport=lambda: str(t.dport),
                 seq=lambda: str(t.seq), ack=lambda: str(t.ack),
                 flags=lambda: str(int(t.flags)),
                 window=lambda: str(t.window), urg=lambda: str(t.urgptr),
                 dataofs=lambda: str(t.dataofs), opts=lambda: opt_names(o),
                 mss=lambda: str(opt(o, "MSS")),
                 wscale=lambda: str(opt(o, "WScale")),
                 sackok=lambda: "1" if opt(o, "SAckOK") is not None
                 else "0",
                 ts=lambda: ",".join(str(x) for x in opt(o, "Timestamp")),
                 sack=lambda: ",".join(str(x) for x in opt(o, "SAck")))
    if ICMP in p:
        c = p[ICMP]
        g.update(icmp_type=lambda: str(c.type), icmp_id=lambda: str(c.id),
                 icmp_seq=lambda: str(c.seq))
    g["payload"] = lambda: bytes(p[Raw].load).hex() if Raw in p else "-"
    return g


def check(line):
    fields = line.split()
    name, raw = fields[0], bytes.fromhex(fields[1])
    errs = []
    p = Ether(raw)
    if bytes(p) != raw:
        errs.append("scapy does not rebuild the same bytes")
    for layer in (IP, TCP, ICMP):
        if layer in p:
            want = recompute(p, layer)
            if p[layer].chksum != want:
                errs.append("%s chksum 0x%04x, scapy 0x%04x" %
                            (layer.__name__, p[layer].chksum, want))
    g = getters(p)
    for kv in fields[2:]:
        k, v = kv.split("=", 1)
        if k not in g:
            errs.append("%s: layer missing" % k)
            continue
        try:
            got = g[k]()
        except Exception as e:  # noqa: BLE001 - report, do not crash
            got = "<%s>" % e
        if got != v:
            errs.append("%s=%s, want %s" % (k, got, v))
    if errs:
        print("FAIL %s: %s" % (name, "; ".join(errs)))
    else:
        print("OK %s" % name)


def main():
    with open(sys.argv[1]) as fh:
        for line in fh:
            if line.strip():
                check(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
