#!/usr/bin/env python3
"""Tables, TSV rows and the PNG chart of one `make bench` guest boot.

scripts/bench.sh runs scripts/guest/bench.sh in QEMU once per kernel and
vCPU count, keeps what the guest printed, and calls this for each boot:

  bench-report.py --raw OUT --kernel deb61 --release REL --vcpus 2 \
      --configs "plain intree ..." --time 5 --reps 3 \
      --load-before "1.0 0.9 0.8" --load-after "..." --wall 1234 \
      --tsv FILE.tsv --png FILE.png

It prints the tables (medians with ratios; n/median/min/max per cell;
espah's path counters; allocations per packet; failures), appends the
numbers to the TSV (long format, one value a row, header written once) and
draws the chart with gnuplot: grouped bars per metric, one bar per ESP
configuration, normalised to the best in-tree configuration (the larger of
intree and offload) = 1.0. Exit status: 0 all measured, 1 some runs or
setups failed, 2 nothing measured.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict

CONFIG_ORDER = ["plain", "intree", "offload", "espah", "espah-seq"]
PATH_COLUMNS = ["tx_gso_segments", "rx_gro", "tx_parallel", "rx_parallel", "req_alloc"]
# colours of the chart's bars, by configuration
COLOURS = {"intree": "#9e9e9e", "offload": "#3f6fb5", "espah": "#e8710a", "espah-seq": "#f4b266"}
TSV_HEADER = ["date", "kernel", "release", "vcpus", "section", "metric", "config",
              "quantity", "value", "n", "min", "max", "failed"]


class Boot:
    """What one guest boot reported (its BENCH-* lines)."""

    def __init__(self, raw):
        self.metrics = []          # (name, unit, plain key, description), in order
        self.samples = defaultdict(list)    # (config, key) -> [value]
        self.napi = defaultdict(list)       # (config, key) -> [percent]
        self.retrans = defaultdict(list)    # (config, key) -> [TCP retransmits]
        self.runfails = defaultdict(list)   # (config, key) -> [(round, reason)]
        self.warmups = {}                   # (config, key) -> value
        self.paths = defaultdict(lambda: defaultdict(int))  # (config, metric) -> counter -> sum
        self.path_pkts = defaultdict(int)   # (config, metric) -> ESP packets of those runs
        self.allocs = []                    # dicts
        self.fails = []                     # (what, reason)
        self.info = {}
        self.params = {}
        self.ceiling = None
        for line in raw:
            self._parse(line)

    def _parse(self, line):
        w = line.split()
        if not w:
            return
        tag = w[0]
        if tag == "BENCH-METRIC" and len(w) >= 5:
            self.metrics.append((w[1], w[2], w[3], " ".join(w[4:])))
        elif tag == "BENCH-SAMPLE" and len(w) >= 6:
            self.samples[(w[1], w[2])].append(float(w[4]))
            if len(w) >= 7:
                self.napi[(w[1], w[2])].append(int(w[6]))
            if len(w) >= 8 and w[7].isdigit():
                self.retrans[(w[1], w[2])].append(int(w[7]))
        elif tag == "BENCH-WARMUP" and len(w) >= 4:
            self.warmups[(w[1], w[2])] = float(w[3])
        elif tag == "BENCH-RUNFAIL" and len(w) >= 4:
            self.runfails[(w[1], w[2])].append((int(w[3]), " ".join(w[4:])))
        elif tag == "BENCH-PATH" and len(w) >= 5:
            key = (w[1], w[2])
            self.path_pkts[key] += int(w[4])
            for kv in w[5:]:
                name, _, val = kv.partition("=")
                self.paths[key][name] += int(val)
        elif tag == "BENCH-ALLOC" and len(w) >= 9:
            self.allocs.append(dict(config=w[1], workload=w[2], packets=int(w[3]),
                                    module=int(w[4]), slab=int(w[5]), pages=int(w[6]),
                                    req=int(w[7]), top=w[8]))
        elif tag == "BENCH-FAIL" and len(w) >= 2:
            self.fails.append((w[1], " ".join(w[2:])))
        elif tag == "BENCH-INFO" and len(w) >= 2:
            if w[1] == "params" and len(w) >= 3:
                self.params[w[2]] = " ".join(w[3:])
            else:
                self.info[w[1]] = " ".join(w[2:])
        elif tag == "BENCH" and w[1:3] == ["aead", "ceiling"] and len(w) >= 6:
            self.ceiling = (w[3], w[4], w[5])

    def key(self, config, metric):
        """The sample key of a cell: plain runs one workload for several metrics."""
        if config == "plain":
            for name, _, plain, _ in self.metrics:
                if name == metric:
                    return ("plain", plain)
        return (config, metric)

    def cell(self, config, metric):
        return self.samples.get(self.key(config, metric), [])

    def failed_runs(self, config, metric):
        return [f for f in self.runfails.get(self.key(config, metric), []) if f[0] > 0]

    def median(self, config, metric):
        s = self.cell(config, metric)
        return statistics.median(s) if s else None

    def best_intree(self, metric):
        vals = [v for v in (self.median("intree", metric), self.median("offload", metric)) if v]
        return max(vals) if vals else None

    def best_complete(self, metric, configs):
        """Whether every in-tree configuration measured in this boot has a number."""
        return all(self.median(c, metric) is not None for c in ("intree", "offload") if c in configs)


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def ratio_columns(configs):
    """(header, function(boot, metric) -> ratio) for the configurations present."""
    cols = []
    if "espah" in configs and "intree" in configs:
        cols.append(("espah/intree", lambda b, m: ratio(b.median("espah", m), b.median("intree", m))))
    if "espah" in configs and "offload" in configs:
        cols.append(("espah/offload", lambda b, m: ratio(b.median("espah", m), b.median("offload", m))))
    best = "intree" in configs or "offload" in configs
    if "espah" in configs and best:
        cols.append(("espah/best", lambda b, m: ratio(b.median("espah", m), b.best_intree(m))))
    if "espah-seq" in configs and best:
        cols.append(("seq/best", lambda b, m: ratio(b.median("espah-seq", m), b.best_intree(m))))
    if "espah" in configs and "espah-seq" in configs:
        cols.append(("espah/seq", lambda b, m: ratio(b.median("espah", m), b.median("espah-seq", m))))
    return cols


def main_table(b, configs, reps, out):
    cols = ratio_columns(configs)
    label_w = 34
    head = f"{'metric (unit)':<{label_w}}" + "".join(f"{c:>10}" for c in configs)
    head += "  " + "".join(f"{h:>14}" for h, _ in cols)
    out.append(head)
    footnote = partial = False
    for name, unit, _, desc in b.metrics:
        row = f"{desc + ' (' + unit + ')':<{label_w}}"
        for c in configs:
            s = b.cell(c, name)
            failed = b.failed_runs(c, name)
            if s:
                mark = "*" if failed or len(s) < reps else ""
                footnote |= bool(mark)
                row += f"{fmt(statistics.median(s)) + mark:>10}"
            else:
                row += f"{'FAIL' if failed or b.runfails.get(b.key(c, name)) else 'n/a':>10}"
        mark = "" if b.best_complete(name, configs) else "?"
        row += "  " + "".join(f"{fmt(f(b, name), 2) + (mark if h.endswith('/best') and f(b, name) else ''):>14}"
                              for h, f in cols)
        partial |= bool(mark)
        out.append(row)
    if footnote:
        out.append(f"* fewer than {reps} valid runs (see FAILURES)")
    if partial:
        out.append("? best in-tree from one in-tree configuration only: the other has no number (see FAILURES)")


def detail_row(b, label, config, key, nfail):
    s = b.samples.get(key, [])
    napi = b.napi.get(key)
    retr = b.retrans.get(key)
    warm = fmt(b.warmups.get(key))
    if not s:
        return (f"{label:<15}{config:<11}{0:>3}{'-':>10}{'-':>10}{'-':>10}{'-':>8}{nfail:>7}{'-':>7}"
                f"{'-':>9}{warm:>10}")
    med = statistics.median(s)
    spread = f"{100 * (max(s) - min(s)) / med:.0f}%" if med else "-"
    return (f"{label:<15}{config:<11}{len(s):>3}{fmt(med):>10}{fmt(min(s)):>10}{fmt(max(s)):>10}"
            f"{spread:>8}{nfail:>7}{(str(min(napi)) if napi else '-'):>7}"
            f"{(str(sum(retr)) if retr else '-'):>9}{warm:>10}")


def detail_table(b, configs, out):
    out.append(f"{'metric':<15}{'config':<11}{'n':>3}{'median':>10}{'min':>10}{'max':>10}"
               f"{'spread':>8}{'failed':>7}{'NAPI%':>7}{'retrans':>9}{'warm-up':>10}")
    if "plain" in configs:
        for key in dict.fromkeys(p for _, _, p, _ in b.metrics):
            nfail = len([f for f in b.runfails.get(("plain", key), []) if f[0] > 0])
            out.append(detail_row(b, key, "plain", ("plain", key), nfail))
    for name, _, _, _ in b.metrics:
        for c in configs:
            if c != "plain":
                out.append(detail_row(b, name, c, (c, name), len(b.failed_runs(c, name))))
    out.append("spread = (max - min) / median; NAPI% = the smallest share, over the runs, of received"
               " frames the veths passed through NAPI (GRO); retrans = TCP retransmissions, all runs (reordering"
               " or loss); plain: one run per workload (tcp = IPv4 1 stream, tcp6, tcp_x4, udp64) serves every"
               " metric that uses it")


def paths_table(b, configs, out):
    rows = [(c, m) for m, _, _, _ in b.metrics for c in configs if (c, m) in b.path_pkts]
    if not rows:
        return
    out.append("espah's path counters per ESP packet (/proc/net/espah_paths, both namespaces,"
               " summed over the measured runs):")
    out.append(f"{'metric':<15}{'config':<11}{'ESP pkts':>10}" + "".join(f"{p:>17}" for p in PATH_COLUMNS))
    for c, m in rows:
        pk = b.path_pkts[(c, m)]
        out.append(f"{m:<15}{c:<11}{pk:>10}" +
                   "".join(f"{fmt(b.paths[(c, m)].get(p, 0) / pk if pk else None, 3):>17}" for p in PATH_COLUMNS))


def alloc_table(b, alloc_time, out):
    if not b.allocs:
        return
    out.append(f"allocations per ESP packet ({alloc_time} s of UDP 1400 B / TCP, GCM, after a 1 s warm-up;"
               " ESP packets both ways):")
    out.append(f"{'config':<11}{'workload':<9}{'ESP pkts':>10}{'module (a)':>12}{'slab, all':>11}"
               f"{'pages (b)':>11}{'req_alloc':>11}  module call sites")
    for a in b.allocs:
        p = a["packets"]
        req = fmt(a["req"] / p, 3) if a["config"].startswith("espah") else "-"
        out.append(f"{a['config']:<11}{a['workload']:<9}{p:>10}{a['module'] / p:>12.3f}{a['slab'] / p:>11.2f}"
                   f"{a['pages'] / p:>11.3f}{req:>11}  {a['top']}")
    out.append("(a) kmalloc/kmem_cache_alloc calls from the ESP implementation's module text"
               " (espah; esp4/esp6[+_offload]); slab, all: every slab allocation in the system;"
               " (b) pages (pgalloc_*), whole system; req_alloc: espah's own counter")


def tsv_rows(b, a, configs):
    date = time.strftime("%Y-%m-%d %H:%M")
    base = [date, a.kernel, a.release, str(a.vcpus)]
    rows = []
    for name, unit, _, _ in b.metrics:
        for c in configs:
            s = b.cell(c, name)
            nf = len(b.failed_runs(c, name))
            if s:
                rows.append(base + ["tput", name, c, unit, f"{statistics.median(s):.1f}", str(len(s)),
                                    f"{min(s):.1f}", f"{max(s):.1f}", str(nf)])
            elif nf or b.runfails.get(b.key(c, name)):
                rows.append(base + ["tput", name, c, unit, "FAIL", "0", "", "", str(nf)])
        q = "ratio" if b.best_complete(name, configs) else "ratio_partial_best"
        for h, f in ratio_columns(configs):
            r = f(b, name)
            if r is not None:
                rows.append(base + ["ratio", name, h, q if h.endswith("/best") else "ratio", f"{r:.3f}",
                                    "", "", "", ""])
    for (c, m), pk in b.path_pkts.items():
        rows.append(base + ["path", m, c, "esp_packets", str(pk), "", "", "", ""])
        for p, v in sorted(b.paths[(c, m)].items()):
            rows.append(base + ["path", m, c, p + "_per_packet", f"{v / pk:.4f}" if pk else "", "", "", "", ""])
    for al in b.allocs:
        p = al["packets"]
        for q, v in (("esp_packets", str(p)), ("module_allocs_per_packet", f"{al['module'] / p:.4f}"),
                     ("slab_allocs_per_packet", f"{al['slab'] / p:.4f}"),
                     ("pages_per_packet", f"{al['pages'] / p:.4f}"),
                     ("req_alloc_per_packet", f"{al['req'] / p:.4f}")):
            rows.append(base + ["alloc", al["workload"], al["config"], q, v, "", "", "", ""])
    for q, v in (("host_load_before", a.load_before), ("host_load_after", a.load_after),
                 ("wall_seconds", str(a.wall)), ("seconds_per_run", str(a.time)), ("reps", str(a.reps)),
                 ("veth", b.info.get("gro", "")), ("drivers", b.info.get("drivers", ""))):
        rows.append(base + ["meta", "", "", q, v, "", "", "", ""])
    if b.ceiling:
        rows.append(base + ["meta", "", "", "aead_ceiling_mbit_s", b.ceiling[0], "", "", "", ""])
    return rows


def write_tsv(path, rows):
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", encoding="utf-8") as f:
        if new:
            f.write("\t".join(TSV_HEADER) + "\n")
        for r in rows:
            f.write("\t".join(x.replace("\t", " ") for x in r) + "\n")


def chart(b, a, configs, png):
    """Grouped bars per metric, ESP configurations side by side, / best in-tree."""
    bars = [c for c in configs if c != "plain"]
    metrics = [m for m, _, _, _ in b.metrics if b.best_intree(m)]
    if not bars or not metrics:
        return "no chart: no metric has an in-tree number to normalise to"
    if not shutil.which("gnuplot"):
        return "no chart: gnuplot is not installed (scripts/install-deps.sh)"
    data = png[:-4] + ".dat"
    with open(data, "w", encoding="utf-8") as f:
        f.write("# metric " + " ".join(bars) + "\n")
        for m in metrics:
            best = b.best_intree(m)
            vals = [b.median(c, m) for c in bars]
            f.write(m + " " + " ".join(f"{v / best:.4f}" if v else "?" for v in vals) + "\n")
    k = len(bars)
    width = 0.8 / k
    xt = ", ".join(f'"{m}" {i}' for i, m in enumerate(metrics))
    title = (f"espah vs in-tree ESP: {a.kernel} ({a.release}), {a.vcpus} vCPUs, QEMU TCG, "
             f"median of {a.reps} x {a.time} s")
    plots = []
    for j, c in enumerate(bars):
        x = f"($0 + {(j - (k - 1) / 2) * width:.4f})"
        plots.append(f"'{data}' using {x}:{j + 2} with boxes lc rgb '{COLOURS.get(c, '#444444')}' title '{c}'")
        plots.append(f"'{data}' using {x}:{j + 2}:(sprintf('%.2f', column({j + 2}))) with labels"
                     " offset 0,0.6 font ',7' notitle")
    plots.append("1 with lines dt 2 lw 2 lc rgb 'black' title 'best in-tree = 1.0'")
    script = f"""
set terminal pngcairo noenhanced size {max(800, 28 * len(metrics) * k + 320)},540 font 'sans,10'
set output '{png}'
set title "{title}" font ',11'
set ylabel 'throughput / best in-tree (max of intree, offload)'
set datafile missing '?'
set style fill solid 0.9 border -1
set boxwidth {width:.4f} absolute
set xrange [-0.6:{len(metrics) - 0.4}]
set yrange [0:*]
set grid ytics
set key outside right top
set xtics ({xt}) rotate by -25
plot {', '.join(plots)}
"""
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, check=False)
    os.unlink(data)
    if res.returncode != 0 or not os.path.exists(png):
        return "chart FAILED: gnuplot: " + res.stderr.strip().replace("\n", " ")[:300]
    return f"chart: {png}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--release", default="?")
    ap.add_argument("--vcpus", type=int, required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--time", type=int, required=True)
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("--alloc-time", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--wall", type=int, default=0)
    ap.add_argument("--tsv")
    ap.add_argument("--png")
    a = ap.parse_args()

    with open(a.raw, encoding="utf-8", errors="replace") as f:
        raw = [line[4:].rstrip("\r\n") for line in f if line.startswith("  > ")]
    b = Boot(raw)
    configs = [c for c in CONFIG_ORDER if c in a.configs.split()]
    out = []
    cpus = os.cpu_count()
    out.append(f"== {a.kernel} ({a.release}), {a.vcpus} vCPUs, QEMU TCG on {cpus} host CPUs:"
               f" ESP between two namespaces over a veth, transport mode unless named")
    warm = "one warm-up run per configuration and metric discarded" if a.warmup else "no warm-up run"
    out.append(f"   median of {a.reps} runs x {a.time} s per cell; {warm}; configuration order rotated every round")
    out.append(f"   veth: {b.info.get('gro', '?').strip()} (GRO on, TSO off at both ends for every"
               " configuration, so frames go through NAPI/GRO)")
    for c in configs:
        if c in b.params:
            out.append(f"   {c}: espah parameters {b.params[c]}")
    if b.info.get("drivers"):
        out.append(f"   crypto drivers: {b.info['drivers'].strip()}")
    out.append(f"   host load average before/after: {a.load_before} / {a.load_after}; boot wall time {a.wall} s")
    out.append("")
    if not b.samples and not b.allocs:
        out.append("nothing was measured")
    else:
        main_table(b, configs, a.reps, out)
        out.append("best = the larger of intree and offload for the metric (higher is better for every metric);"
                   " seq = espah-seq (parallel=0)")
        out.append("")
        detail_table(b, configs, out)
        out.append("")
        if b.path_pkts:
            paths_table(b, configs, out)
            out.append("")
        if b.allocs:
            alloc_table(b, a.alloc_time, out)
            out.append("")
    if b.ceiling:
        out.append(f"AEAD ceiling: rfc4106(gcm(aes)) 128-bit key, {b.ceiling[2]}-byte encryption, one vCPU"
                   f" (tcrypt, {b.ceiling[1]}): {b.ceiling[0]} Mbit/s")
    if a.png:
        out.append(chart(b, a, configs, a.png))
    fails = [f"  {w}: {r}" for w, r in b.fails]
    for (c, k), lst in sorted(b.runfails.items()):
        for rnd, reason in lst:
            fails.append(f"  {c}/{k} {'warm-up' if rnd == 0 else 'round ' + str(rnd)}: {reason}")
    if fails:
        out.append("FAILURES (no number was taken from these):")
        out.extend(fails)
    print("\n".join(out))
    if a.tsv:
        write_tsv(a.tsv, tsv_rows(b, a, configs))
    if not b.samples and not b.allocs:
        return 2
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
