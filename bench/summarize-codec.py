#!/usr/bin/env python3
"""Prints the codec bench results (bench/target/criterion) as Markdown tables.

One table per operation (decode, encode, send, unmask); one row per payload size; the
median time per frame of each library, its throughput, and ours / best peer.

    summarize-codec.py [BASELINE ...]

With baseline names (runs saved with `cargo bench --bench codec -- --save-baseline NAME`),
each cell is the lowest median over those runs: on a shared machine, other load only
ever adds time, so the minimum over a few runs is the least disturbed one. Without
names, the latest run ("new") is used.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "target", "criterion")
OPS = ["decode", "encode", "send", "unmask"]
SIZES = [("20B", 20), ("1KiB", 1024), ("16KiB", 16 * 1024), ("1MiB", 1 << 20)]
LIBS = ["ours", "tungstenite", "fastwebsockets"]


def fmt_time(ns):
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


def fmt_rate(size, ns):
    gib = size / ns * 1e9 / (1 << 30)
    return f"{gib:.2f} GiB/s" if gib >= 1 else f"{gib * 1024:.0f} MiB/s"


BASELINES = sys.argv[1:] or ["new"]


def median(op, size_name, lib):
    best = None
    for b in BASELINES:
        p = os.path.join(ROOT, f"{op}_{size_name}", lib, b, "estimates.json")
        if os.path.exists(p):
            with open(p) as f:
                m = json.load(f)["median"]["point_estimate"]
            best = m if best is None else min(best, m)
    return best


def main():
    if not os.path.isdir(ROOT):
        sys.exit(f"no results under {ROOT}: run `cargo bench --bench codec` first")
    for op in OPS:
        libs = [l for l in LIBS if any(median(op, s, l) is not None for s, _ in SIZES)]
        if not libs:
            continue
        runs = "lowest median over runs " + ", ".join(BASELINES) if len(BASELINES) > 1 else "median"
        print(f"\n**{op}** ({runs}, per frame; throughput = payload bytes / time)\n")
        print("| size | " + " | ".join(libs) + " | ours ÷ best peer |")
        print("|---|" + "---:|" * (len(libs) + 1))
        for name, size in SIZES:
            t = {l: median(op, name, l) for l in libs}
            cells = [f"{fmt_time(t[l])} ({fmt_rate(size, t[l])})" if t[l] else "–" for l in libs]
            peers = [t[l] for l in libs if l != "ours" and t[l]]
            ratio = f"{t['ours'] / min(peers):.2f}×" if t.get("ours") and peers else "–"
            print(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")


if __name__ == "__main__":
    main()
