#!/usr/bin/env bash
# The "Real-time DMs" section of BENCHMARKS.md, in one command:
#
#   benches/compare/activity.sh [ROUNDS]        (default 5 rounds)
#
# Builds `xdm-activity` in release mode, installs xdk 0.10.6 into the virtual environment that
# run.sh uses (target/compare/venv), writes one recorded stream of 1,000 documented-shape
# `dm.received` lines, and runs in alternation for ROUNDS rounds: stream decoding (xdm,
# `serde_json::Value`, xdk's own stream loop), the webhook receive path in process and over
# loopback; then the send-to-event latencies once, and the criterion benches of
# `crates/xdm-core/benches/activity.rs` once. Prints one set of tables of medians; raw rows go
# to target/compare/activity.jsonl. Only loopback traffic.
#
# Environment knobs:
#   SAMPLES=500        DMs timed per latency path
#   SKIP_CRITERION=1   skip `cargo bench -p xdm-core --bench activity`
#   CARGO_TARGET_DIR   honoured (default: target/ at the top of the repository)
set -euo pipefail

ROUNDS="${1:-5}"
SAMPLES="${SAMPLES:-500}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/compare"
RESULTS="$OUT/activity.jsonl"
mkdir -p "$OUT"
: > "$RESULTS"
cd "$ROOT"

log() { printf '== %s\n' "$*" >&2; }

log "building xdm-activity (release)"
cargo build --release --quiet -p xdm-benches --bin xdm-activity
DRIVER="$TARGET/release/xdm-activity"

PY="$OUT/venv/bin/python"
if ! "$PY" -c 'import xdk' 2>/dev/null; then
    log "installing xdk 0.10.6 into $OUT/venv"
    python3 -m venv "$OUT/venv"
    "$OUT/venv/bin/pip" install --quiet "xdk==0.10.6"
fi
PEERS_PY=("$PY" "$ROOT/benches/compare/py/peers.py")

STREAM="$OUT/activity-stream.bin"
"$DRIVER" stream-file "$STREAM" 1000

for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS: stream decoding, webhook receive path"
    "$DRIVER" decode "$STREAM" 20 >> "$RESULTS"
    "${PEERS_PY[@]}" stream "$STREAM" 5 >> "$RESULTS"
    "$DRIVER" receive 20000 >> "$RESULTS"
    "$DRIVER" server 5000 1 >> "$RESULTS"
    "$DRIVER" server 5000 8 >> "$RESULTS"
done

log "latency: $SAMPLES DMs through the stream, then through the webhook"
"$DRIVER" latency stream "$SAMPLES" >> "$RESULTS"
"$DRIVER" latency webhook "$SAMPLES" >> "$RESULTS"

if [ "${SKIP_CRITERION:-0}" != 1 ]; then
    log "criterion: cargo bench -p xdm-core --bench activity"
    cargo bench --quiet -p xdm-core --bench activity -- --measurement-time 3 --warm-up-time 1 \
        > "$OUT/criterion-activity.log" 2>&1
    for id in stream_decode/1000_deliveries_16k_chunks stream_decode/decode_delivery_per_line \
        stream_decode/value_baseline webhook_receive/verify_decode \
        webhook_receive/verify_decode_dedupe; do
        python3 - "$TARGET/criterion/$id/new/estimates.json" "$id" >> "$RESULTS" <<'EOF'
import json, sys
median = json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1e9
print(json.dumps({"bench": "criterion", "contender": sys.argv[2], "seconds": median}))
EOF
    done
fi

python3 "$ROOT/benches/compare/activity_table.py" "$RESULTS" "$ROUNDS"
