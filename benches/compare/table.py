#!/usr/bin/env python3
"""Prints the comparison table from run.sh's results (one JSON object a line).

Usage: table.py RESULTS.jsonl ROUNDS
Medians are over the rounds; ratios compare medians measured in the same run.
"""
import json
import math
import os
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
rounds = sys.argv[2] if len(sys.argv) > 2 else "?"
window_ms = int(os.environ.get("WINDOW_MS", "10000"))
by = defaultdict(list)
for r in rows:
    by[(r["bench"], r.get("contender", ""))].append(r)


def med(bench, contender, key="seconds"):
    vals = [r[key] for r in by.get((bench, contender), []) if key in r]
    return statistics.median(vals) if vals else None


def us(s):
    return "n/a" if s is None else f"{s * 1e6:,.1f} µs"


def ms(s):
    return "n/a" if s is None else f"{s * 1e3:,.1f} ms"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:,.2f}"


out = []
out.append(f"Medians of {rounds} rounds.\n")

# 1. decode
typed, value = med("decode", "xdm typed"), med("decode", "xdm value")
xdk, xdk_json = (med("decode", "xdk (json.loads + model_validate)"),
                 med("decode", "xdk models (model_validate_json)"))
out.append("### 1. Decoding one 100-event page (105,598 bytes)\n")
out.append("| contender | time per page | × xdm typed |")
out.append("|---|---:|---:|")
for name, t in [("xdm typed (`decode_json` into `EventPage`)", typed),
                ("`serde_json::Value`", value),
                ("xdk 0.10.6 (`json.loads` + `model_validate`, as xdk does)", xdk),
                ("xdk models via `model_validate_json` (not what xdk calls)", xdk_json)]:
    out.append(f"| {name} | {us(t)} | {ratio(t, typed)} |")
out.append("")

# 2. per call
ours, theirs = med("per_call", "xdm"), med("per_call", "xdk")
out.append("### 2. Per-call overhead: build, OAuth 1.0a sign, decode a one-event page\n")
out.append("| contender | time per call | × xdm |")
out.append("|---|---:|---:|")
out.append(f"| xdm | {us(ours)} | 1.00 |")
out.append(f"| xdk 0.10.6 | {us(theirs)} | {ratio(theirs, ours)} |")
out.append("")

# 3. paging
out.append("### 3. 100 pages of 100 events over loopback, keep-alive, rate limits off\n")
out.append("| contender | elapsed | events/s | × bare hyper (throughput) | xdm is × faster |")
out.append("|---|---:|---:|---:|---:|")
bare = med("paging", "bare")
ours = med("paging", "ours")
for name, key in [("bare hyper + `serde_json::Value` (ceiling)", "bare"), ("xdm client", "ours"),
                  ("twapi-v2 0.27", "twapi-v2"), ("xdk 0.10.6", "xdk"), ("tweepy 4.17", "tweepy")]:
    t = med("paging", key)
    ev = med("paging", key, "events")
    tput = "n/a" if t is None or ev is None else f"{ev / t:,.0f}"
    out.append(f"| {name} | {ms(t)} | {tput} | {ratio(bare, t)} | {ratio(t, ours)} |")
out.append("")

# 4. concurrency
out.append("### 4. 64 concurrent listings of 5 pages through one client\n")
out.append("| protocol | elapsed | requests/s | connections opened |")
out.append("|---|---:|---:|---:|")
for name, key in [("HTTP/1.1 pool", "h1"), ("HTTP/2 (h2c)", "h2")]:
    t = med("concurrency", key)
    req = med("concurrency", key, "requests")
    conns = med("concurrency", key, "connections")
    rps = "n/a" if t is None or req is None else f"{req / t:,.0f}"
    out.append(f"| {name} | {ms(t)} | {rps} | {conns if conns is not None else 'n/a'} |")
out.append("")

# 5. memory
mem = [r for r in rows if r["bench"] == "memory"]
if mem:
    out.append("### 5. Peak RSS of `xdm export`\n")
    out.append("| events in the emulator | events exported | peak RSS | elapsed |")
    out.append("|---:|---:|---:|---:|")
    for r in mem:
        out.append(f"| {r['events']:,} | {r['exported']:,} | {r['peak_rss_kib'] / 1024:,.1f} MiB "
                   f"| {float(r['seconds']):,.1f} s |")
    out.append("")

# 6. rate limits
rl = [r for r in rows if r["bench"] == "rate_limit"]
if rl:
    pages = math.ceil(3000 / 100)
    out.append(f"### 6. Export of 3,000 events at 15 reads per {window_ms / 1000:g} s window\n")
    out.append(f"Theoretical minimum: {pages} requests (one more if the last full page still "
               f"carries a `next_token`, as X's does), 0 × 429, and "
               f"{(math.ceil(pages / 15) - 1) * window_ms / 1000:g} s "
               f"({(math.ceil((pages + 1) / 15) - 1) * window_ms / 1000:g} s with that extra "
               "request) plus transfer time.\n")
    out.append("| contender | elapsed | events read | requests | 429s | outcome |")
    out.append("|---|---:|---:|---:|---:|---|")
    for r in rl:
        emu = r.get("emulator", {})
        st = emu.get("by_status", {})
        out.append(f"| {r['contender']} | {float(r['seconds']):,.2f} s | {r.get('events', 'n/a')} "
                   f"| {emu.get('requests', 'n/a')} | {st.get('429', 0)} | {r.get('outcome', '')} |")
    out.append("")

print("\n".join(out))
