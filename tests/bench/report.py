#!/usr/bin/python3
"""report.py - turn build/bench/raw.csv into the side-by-side table.

    report.py OUTDIR

Reads OUTDIR/raw.csv (config,rep,metric,value; written by run.sh) and
OUTDIR/machine.txt; prints one table (scenario, metric, TAS, Linux, ratio)
and writes OUTDIR/results.md, OUTDIR/results.csv and PNG plots when
matplotlib is importable. Only measured numbers are printed: a figure with
no samples says why (failed, pending, not measurable).
"""
import csv
import os
import statistics
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "build/bench"


def load():
    samples, failed = {}, {}
    with open(os.path.join(OUT, "raw.csv")) as f:
        for row in csv.DictReader(f):
            if row["metric"] == "failed":
                failed[row["config"]] = failed.get(row["config"], 0) + 1
                continue
            if row["rep"] == "warm" or row["value"] == "":
                continue
            samples.setdefault((row["config"], row["metric"]), []).append(
                float(row["value"]))
    return samples, failed


SAMPLES, FAILED = load()
FACTS = {}
try:
    with open(os.path.join(OUT, "machine.txt")) as f:
        for line in f:
            k, _, v = line.partition(":")
            FACTS[k.strip()] = v.strip()
except OSError:
    pass


def stat(cfg, metric):
    """(median, min, max, n) or None."""
    v = SAMPLES.get((cfg, metric))
    if not v:
        return None
    return statistics.median(v), min(v), max(v), len(v)


def fmt_num(x):
    if x >= 100000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def cell(cfg, metric, missing=None):
    """Text for one side: 'median ±half-range%' or why there is none."""
    if cfg is None:
        return missing or "n/a"
    s = stat(cfg, metric)
    if s is None:
        if cfg in FAILED:
            return "failed (see logs/bench.log)"
        quick = FACTS.get("mode", "").startswith("quick")
        if quick and (cfg.startswith("s2_tas_tas") or
                      (cfg.startswith("s2_") and "_1024_" in cfg and
                       not cfg.endswith("_16")) or
                      cfg == "s6_wire_64_1" or cfg.startswith("s5_") or
                      cfg.startswith("s7_") and cfg.endswith("000")):
            return "full run only"
        return missing or "not measured"
    med, lo, hi, n = s
    nf = FAILED.get(cfg, 0)
    tail = f" ({nf} run{'s' if nf > 1 else ''} failed)" if nf else ""
    if n == 1 or med == 0:
        return fmt_num(med) + tail
    return f"{fmt_num(med)} ±{(hi - lo) / 2 / med * 100:.0f}%" + tail


def ratio(tcfg, lcfg, metric, better, r=None):
    if r is None:
        t = stat(tcfg, metric) if tcfg else None
        li = stat(lcfg, metric) if lcfg else None
        if not t or not li or li[0] == 0:
            return ""
        r = t[0] / li[0]
    wins = (r < 1) if better == "lower" else (r > 1)
    mark = "↓" if better == "lower" else "↑"
    who = "TAS" if wins else "Linux"
    if r == 1:
        who = "tie"
    return f"{r:.2f} {mark} {who}"


# (scenario, metric label, unit, TAS config, Linux config, raw metric,
#  better, note for missing)
ROWS = []
LAT = [("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")]
for key, lbl in LAT:
    ROWS.append(("1 latency 64 B, TAS server / Linux client vs "
                 "Linux<->Linux", f"{lbl} µs", "s1_tas_srv", "s1_linux",
                 key, "lower"))
for key, lbl in LAT:
    ROWS.append(("1 latency 64 B, TAS<->TAS vs Linux<->Linux",
                 f"{lbl} µs", "s1_tas_tas", "s1_linux", key, "lower"))
for side, label in (("tas_srv", "TAS server / Linux client"),
                    ("tas_tas", "TAS<->TAS")):
    for size in (64, 1024):
        for conns in (1, 16, 256):
            sc = f"2 RPC {size} B, {conns} conn, {label} vs Linux<->Linux"
            t, li = f"s2_{side}_{size}_{conns}", f"s2_linux_{size}_{conns}"
            ROWS.append((sc, "req/s", t, li, "req_s", "higher"))
            ROWS.append((sc, "CPU-µs/req (machine)", t, li,
                         "cpu_us_per_req", "lower"))
for d, label in (("out", "A->B (TAS sends / Linux sends)"),
                 ("in", "B->A (TAS receives / Linux receives)")):
    sc = f"3 bulk 1 flow {label}, Linux peer"
    ROWS.append((sc, "Gbit/s", f"s3_tas_{d}", f"s3_linux_{d}", "gbps",
                 "higher"))
    ROWS.append((sc, "CPU-s/GB (machine)", f"s3_tas_{d}",
                 f"s3_linux_{d}", "cpu_s_per_gb", "lower"))
sc = ("3 bulk B->A into app buffers: TAS placement (rx_post) vs Linux "
      "recv(), Linux peer")
ROWS.append((sc, "Gbit/s", "s3_tas_in_place", "s3_linux_in", "gbps",
             "higher"))
ROWS.append((sc, "CPU-s/GB (machine)", "s3_tas_in_place", "s3_linux_in",
             "cpu_s_per_gb", "lower"))
sc = "4 churn connect/64 B request/close, 4 parallel, Linux client"
ROWS.append((sc, "cycles/s", "s4_tas_srv", "s4_linux", "req_s", "higher"))
ROWS.append((sc, "CPU-µs/cycle (machine)", "s4_tas_srv", "s4_linux",
             "cpu_us_per_req", "lower"))
for side, label in (("tas_srv", "server under LD_PRELOAD, Linux client"),
                    ("tas_cli", "client under LD_PRELOAD, Linux server")):
    sc = (f"5 sockperf ping-pong 64 B, {label} vs Linux<->Linux "
          "(round trip)")
    for key, lbl in LAT:
        ROWS.append((sc, f"{lbl} µs", f"s5_sp_{side}", "s5_sp_linux", key,
                     "lower"))
    ROWS.append((sc, "msg/s", f"s5_sp_{side}", "s5_sp_linux", "req_s",
                 "higher"))
    ROWS.append((sc, "CPU-µs/msg (machine)", f"s5_sp_{side}",
                 "s5_sp_linux", "cpu_us_per_req", "lower"))
for t in ("set", "get"):
    sc = (f"5 redis-benchmark {t.upper()} -c 50 -d 64 -P 1, redis-server "
          "under LD_PRELOAD vs Linux, Linux client")
    ROWS.append((sc, "req/s", f"s5_rb_tas_{t}", f"s5_rb_linux_{t}", "req_s",
                 "higher"))
    for key, lbl in LAT[:2]:
        ROWS.append((sc, f"{lbl} µs", f"s5_rb_tas_{t}", f"s5_rb_linux_{t}",
                     key, "lower"))
    ROWS.append((sc, "CPU-µs/req (machine)", f"s5_rb_tas_{t}",
                 f"s5_rb_linux_{t}", "cpu_us_per_req", "lower"))
ROWS7 = []
for conns in (1, 100, 1000, 10000):
    sc = (f"7 scale {conns:,} conn, 64 B closed loop, rpc_client vs "
          "krpc_client, Linux echo server")
    t, li = f"s7_tas_{conns}", f"s7_linux_{conns}"
    ROWS7.append((sc, "req/s", t, li, "req_s", "higher"))
    ROWS7.append((sc, "CPU-µs/req (machine)", t, li, "cpu_us_per_req",
                  "lower"))
    ROWS7.append((sc, "p99 µs", t, li, "p99_us", "lower"))
    ROWS7.append((sc, "memory B/conn (note c)", t, li, None, "lower"))


def mem_cell(tcfg, lcfg):
    """Scenario 7 memory: daemon RSS (PSS) delta per connection for TAS,
    kernel Slab + socket buffer delta per connection for Linux."""
    rss, pss = stat(tcfg, "rss_b_per_conn"), stat(tcfg, "pss_b_per_conn")
    km = stat(lcfg, "kmem_b_per_conn")
    t = cell(tcfg, "rss_b_per_conn")
    if rss and pss:
        t = f"RSS {fmt_num(rss[0])}, PSS {fmt_num(pss[0])}"
    li = cell(lcfg, "kmem_b_per_conn")
    if km:
        li = f"kernel {fmt_num(km[0])}"
    r = ""
    if rss and km and km[0] > 0:
        r = ratio(tcfg, lcfg, None, "lower", rss[0] / km[0])
    return t, li, r


def table_rows():
    out = []
    for sc, metric, t, li, key, better in ROWS:
        out.append([sc, metric, cell(t, key), cell(li, key),
                    ratio(t, li, key, better)])
    nok = "n/a: no kernel path"
    for conns in (1, 16):
        out.append([f"6 wire TAS<->TAS 64 B RPC, {conns} conn",
                    "req/s", cell(f"s6_wire_64_{conns}", "req_s"), nok, ""])
    out.append(["6 wire TAS<->TAS 64 B RPC, 1 conn", "p50 µs",
                cell("s6_wire_64_1", "p50_us"), nok, ""])
    ipr_m = FACTS.get("ipr_method", "none")
    if ipr_m == "none":
        ipr = "not measurable here (no perf counters, no valgrind)"
    else:
        ipr = cell("s6_ipr", "instr_per_req")
    out.append(["6 wire TAS<->TAS 64 B RPC, 16 conn",
                f"instr/request ({ipr_m}; note b)", ipr, nok, ""])
    out.append(["6 wire TAS<->TAS 64 B RPC, 16 conn",
                "fast-path core CPU-µs/req, per daemon (note d)",
                cell("s6_wire_64_16", "fp_us_per_req"), nok, ""])
    fp = stat("s6_wire_64_16", "fp_us_per_req")
    out.append(["6 wire TAS<->TAS 64 B RPC, 16 conn",
                "req/s one fast-path core carries (1e6 / the above)",
                f"{1e6 / fp[0]:,.0f}" if fp and fp[0] > 0 else "not measured",
                nok, ""])
    for cfg, lbl in (("s6_wire_bulk", "MTU 1500"),
                     ("s6_wire_bulk_9k", "MTU 9000")):
        what = f"6 wire TAS<->TAS bulk 1 flow, {lbl}, blast --pattern"
        out.append([what, "Gbit/s", cell(cfg, "gbps"), nok, ""])
        out.append([what, "CPU-s/GB (machine)",
                    cell(cfg, "cpu_s_per_gb"), nok, ""])
    for key, lbl in (("memcpy_ring_gbps", "memcpy 128 KiB blocks"),
                     ("memcpy_large_gbps", "memcpy 64 MiB blocks"),
                     ("sha256_gbps", "SHA-256 (blast hashes every byte)")):
        out.append([f"6 ceiling, same run: {lbl}", "Gbit/s, 1 core",
                    cell("s6_ceiling", key), "", ""])
    for cfg, lbl in (("s6_wire_bulk", "MTU 1500"),
                     ("s6_wire_bulk_9k", "MTU 9000")):
        b = stat(cfg, "gbps")
        for key, blk in (("memcpy_ring_gbps", "128 KiB"),
                         ("memcpy_large_gbps", "64 MiB")):
            c = stat("s6_ceiling", key)
            if b and c:
                out.append([f"6 wire bulk {lbl} / memcpy {blk} ceiling",
                            "fraction", f"{b[0] / c[0]:.3f}", "", ""])
    for sc, metric, t, li, key, better in ROWS7:
        if key is None:
            out.append([sc, metric, *mem_cell(t, li)])
        else:
            out.append([sc, metric, cell(t, key), cell(li, key),
                        ratio(t, li, key, better)])
    if FACTS.get("mode", "").startswith("smoke"):
        # the smoke run measures a few rows only: print those
        out = [r for r in out if r[2][:1].isdigit() or r[3][:1].isdigit()]
    return out


HEAD = ["scenario", "metric", "TAS", "Linux", "TAS/Linux (note a)"]
NOTES = [
    "cells: median ±half the min-max range of the measured runs "
    "(warm-up discarded)",
    "note a: ratio of medians; ↑ higher is better, ↓ lower is better; "
    "then the winner",
    "note b: both daemons; perf counts user+kernel, callgrind user space "
    "only (daemons at --idle-us 0, counters zeroed after the warm-up)",
    "note c: peak while the client runs minus just before, per "
    "connection; TAS: the client-side daemon's RSS and PSS (smaps_rollup; "
    "the per-app segment is a sparse memfd, only resident pages count, PSS "
    "shares them with the app); Linux: machine-wide Slab plus namespace "
    "A's socket buffer pages (sockstat), kernel memory having no process",
    "note d: user+system time of the tas-fp threads of both daemons over "
    "the run, divided by the requests and by 2 (each request crosses each "
    "daemon's fast path); empty polls while waiting out --idle-us count "
    "too, so the req/s per core figure is a lower bound",
    "scenario 5 latency: sockperf --full-rtt (round trip, like scenario 1); "
    "redis-benchmark's percentiles have ~1 ms-bucket resolution at high "
    "values",
]


def print_table(rows):
    w = [max(len(str(r[i])) for r in rows + [HEAD]) for i in range(len(HEAD))]
    line = "  ".join("-" * x for x in w)
    print(line)
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(HEAD)).rstrip())
    print(line)
    last = None
    for r in rows:
        sc = r[0] if r[0] != last else ""
        last = r[0]
        print("  ".join(str(v).ljust(w[i])
                        for i, v in enumerate([sc] + r[1:])).rstrip())
    print(line)
    for n in NOTES:
        print(n)


def write_md(rows):
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("# TAS vs Linux, one run\n\n")
        for k, v in FACTS.items():
            f.write(f"- {k}: {v}\n")
        f.write("\n" + "".join(f"- {n}\n" for n in NOTES) + "\n")
        f.write("| " + " | ".join(HEAD) + " |\n")
        f.write("|" + "---|" * len(HEAD) + "\n")
        for r in rows:
            f.write("| " + " | ".join(str(x) for x in r) + " |\n")


def write_csv():
    with open(os.path.join(OUT, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "metric", "tas_median", "tas_min", "tas_max",
                    "tas_n", "linux_median", "linux_min", "linux_max",
                    "linux_n", "ratio", "better"])
        for sc, metric, t, li, key, better in ROWS:
            ts, ls = stat(t, key), stat(li, key)
            r = ""
            if ts and ls and ls[0]:
                r = f"{ts[0] / ls[0]:.4f}"
            w.writerow([sc, metric] + (list(ts) if ts else [""] * 4) +
                       (list(ls) if ls else [""] * 4) + [r, better])
        for cfg, key, sc, metric in (
                ("s6_wire_64_1", "req_s", "6 wire 64 B 1 conn", "req/s"),
                ("s6_wire_64_16", "req_s", "6 wire 64 B 16 conn", "req/s"),
                ("s6_ipr", "instr_per_req", "6 wire 64 B 16 conn",
                 "instructions/request"),
                ("s6_wire_64_16", "fp_us_per_req", "6 wire 64 B 16 conn",
                 "fast-path core CPU-us/request per daemon"),
                ("s6_wire_bulk", "gbps", "6 wire bulk MTU 1500", "Gbit/s"),
                ("s6_wire_bulk_9k", "gbps", "6 wire bulk MTU 9000",
                 "Gbit/s"),
                ("s6_ceiling", "memcpy_ring_gbps", "6 memcpy 128 KiB",
                 "Gbit/s"),
                ("s6_ceiling", "memcpy_large_gbps", "6 memcpy 64 MiB",
                 "Gbit/s"),
                ("s6_ceiling", "sha256_gbps", "6 sha256", "Gbit/s")):
            s = stat(cfg, key)
            w.writerow([sc, metric] + (list(s) if s else [""] * 4) +
                       [""] * 4 + ["", ""])
        for sc, metric, t, li, key, better in ROWS7:
            keys = ((key, key),) if key else (
                ("rss_b_per_conn", "kmem_b_per_conn"),
                ("pss_b_per_conn", None))
            for tk, lk in keys:
                ts = stat(t, tk)
                ls = stat(li, lk) if lk else None
                r = ""
                if ts and ls and ls[0]:
                    r = f"{ts[0] / ls[0]:.4f}"
                w.writerow([sc, metric if key else f"{tk} / {lk}"] +
                           (list(ts) if ts else [""] * 4) +
                           (list(ls) if ls else [""] * 4) + [r, better])


def plots():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []

    def bars(fname, title, ylabel, groups, series):
        """groups: labels; series: [(name, [(cfg, metric)])]."""
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups)), 4))
        width = 0.8 / len(series)
        for i, (name, cells) in enumerate(series):
            xs, ys, errs = [], [], [[], []]
            for j, (cfg, key) in enumerate(cells):
                s = stat(cfg, key)
                if s is None:
                    continue
                xs.append(j + i * width)
                ys.append(s[0])
                errs[0].append(s[0] - s[1])
                errs[1].append(s[2] - s[0])
            if xs:
                ax.bar(xs, ys, width, yerr=errs, capsize=3, label=name)
        ax.set_xticks([j + width * (len(series) - 1) / 2
                       for j in range(len(groups))])
        ax.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(OUT, fname), dpi=110)
        plt.close(fig)
        made.append(fname)

    bars("latency.png", "1: 64 B ping-pong latency (median of runs)", "µs",
         ["p50", "p99", "p99.9"],
         [("TAS server, Linux client", [("s1_tas_srv", k) for k, _ in LAT]),
          ("TAS<->TAS", [("s1_tas_tas", k) for k, _ in LAT]),
          ("Linux<->Linux", [("s1_linux", k) for k, _ in LAT])])
    groups = [f"{s} B x{c}" for s in (64, 1024) for c in (1, 16, 256)]
    for fname, key, title, unit in (
            ("rpc_throughput.png", "req_s", "2: closed-loop RPC throughput",
             "requests/s"),
            ("rpc_cpu.png", "cpu_us_per_req",
             "2: machine CPU per request", "CPU-µs/request")):
        bars(fname, title, unit, groups,
             [(n, [(f"s2_{p}_{s}_{c}", key) for s in (64, 1024)
                   for c in (1, 16, 256)])
              for n, p in (("TAS server, Linux client", "tas_srv"),
                           ("TAS<->TAS", "tas_tas"),
                           ("Linux<->Linux", "linux"))])
    bars("bulk.png", "3 and 6: bulk, one flow", "Gbit/s",
         ["A->B", "B->A", "wire"],
         [("TAS", [("s3_tas_out", "gbps"), ("s3_tas_in", "gbps"),
                   ("s6_wire_bulk", "gbps")]),
          ("Linux", [("s3_linux_out", "gbps"), ("s3_linux_in", "gbps"),
                     ("", "gbps")])])
    return made


def main():
    rows = table_rows()
    print_table(rows)
    write_md(rows)
    write_csv()
    made = plots()
    print(f"bench: wrote {OUT}/results.md, {OUT}/results.csv, "
          f"{OUT}/machine.txt" +
          (", " + ", ".join(f"{OUT}/{m}" for m in made) if made
           else "; no plots (matplotlib missing)"))


if __name__ == "__main__":
    main()
