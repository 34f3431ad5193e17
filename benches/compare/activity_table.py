#!/usr/bin/env python3
"""Prints the "Real-time DMs" tables from activity.sh's results (one JSON object a line).

Usage: activity_table.py RESULTS.jsonl ROUNDS
Medians are over the rounds; ratios compare medians measured in the same run.
"""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
rounds = sys.argv[2] if len(sys.argv) > 2 else "?"
by = defaultdict(list)
for r in rows:
    by[(r["bench"], r.get("contender", ""))].append(r)


def med(bench, contender, key="seconds"):
    vals = [r[key] for r in by.get((bench, contender), []) if key in r]
    return statistics.median(vals) if vals else None


def first(bench, contender, key):
    found = by.get((bench, contender))
    return found[0].get(key) if found else None


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:,.2f}"


out = [f"Medians of {rounds} rounds.\n"]

# Stream decoding
contenders = [r["contender"] for r in rows if r["bench"] == "stream_decode"]
contenders = list(dict.fromkeys(contenders))
ours = med("stream_decode", "xdm LineDecoder + delivery decode")
if contenders:
    size = first("stream_decode", contenders[0], "bytes")
    events = first("stream_decode", contenders[0], "events")
    out.append(f"### Stream decoding: {events:,} deliveries and {events // 10} keep-alives "
               f"({size:,} bytes), 1 KiB chunks\n")
    out.append("| contender | time | MiB/s | events/s | × xdm (time) |")
    out.append("|---|---:|---:|---:|---:|")
    for c in contenders:
        t = med("stream_decode", c)
        out.append(f"| {c} | {t * 1e3:,.2f} ms | {size / t / 2**20:,.1f} | {events / t:,.0f} "
                   f"| {ratio(t, ours)} |")
    out.append("")

# Webhook receive path
contenders = list(dict.fromkeys(r["contender"] for r in rows if r["bench"] == "webhook_receive"))
if contenders:
    out.append("### Webhook receive path (signature, classify, decode, dedupe, queue)\n")
    out.append("| path | events | elapsed | per event | events/s |")
    out.append("|---|---:|---:|---:|---:|")
    for c in contenders:
        t = med("webhook_receive", c)
        n = first("webhook_receive", c, "events")
        out.append(f"| {c} | {n:,} | {t * 1e3:,.1f} ms | {t / n * 1e6:,.2f} µs | {n / t:,.0f} |")
    out.append("")

# Latency
lat = [r for r in rows if r["bench"] == "latency"]
if lat:
    out.append("### Send to event\n")
    out.append("| path | samples | p50 | p90 | p99 | max | mean |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in lat:
        cells = " | ".join(f"{r[k] * 1e3:,.3f} ms" for k in ["p50", "p90", "p99", "max", "mean"])
        out.append(f"| {r['contender']} | {r['samples']} | {cells} |")
    out.append("")

# Criterion
crit = [r for r in rows if r["bench"] == "criterion"]
if crit:
    out.append("### criterion (`cargo bench -p xdm-core --bench activity`), median\n")
    out.append("| benchmark | time |")
    out.append("|---|---:|")
    for r in crit:
        t = r["seconds"]
        shown = f"{t * 1e3:,.3f} ms" if t >= 1e-3 else f"{t * 1e6:,.2f} µs"
        out.append(f"| `{r['contender']}` | {shown} |")
    out.append("")

print("\n".join(out))
