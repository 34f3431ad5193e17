#!/usr/bin/env bash
# The long reliability runs: the randomized matrices with many seeds, the known-bug tests, and
# the fuzz targets (which need a nightly toolchain and cargo-fuzz).
#
#   scripts/reliability-long.sh                 # 1000 seeds (50 for the CLI), 10 minutes of fuzzing per target
#   SEEDS=200 FUZZ_SECONDS=60 scripts/reliability-long.sh
#   SKIP_FUZZ=1 scripts/reliability-long.sh     # no nightly here
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS="${SEEDS:-1000}"
FUZZ_SECONDS="${FUZZ_SECONDS:-600}"

step() { printf '\n==> %s\n' "$*"; }

failed=0

step "matrices with XDM_RELIABILITY_SEEDS=$SEEDS (counts printed as 'matrix NAME: N cases, N passed')"
log="${TMPDIR:-/tmp}/xdm-reliability-long.log"
if ! XDM_RELIABILITY_SEEDS="$SEEDS" XDM_RELIABILITY_CLI_SEEDS="${CLI_SEEDS:-50}" \
    cargo test -p xdm-reliability --release -- --nocapture >"$log" 2>&1; then
    failed=1
fi
grep -E '^(matrix|  - |  known bug|interrupted_exports|cli_export|test result)' "$log" || true
echo "(full output: $log)"

step "known bugs of other crates (each test fails while its bug is there)"
cargo test -p xdm-reliability -- --ignored --skip refresh_worker 2>&1 | grep -E '^test |test result' || true

if [ -n "${SKIP_FUZZ:-}" ]; then
    echo "fuzzing skipped (SKIP_FUZZ set)"
    exit "$failed"
fi
step "fuzz targets, $FUZZ_SECONDS s each"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "no nightly toolchain: the fuzz targets cannot run here (rustup toolchain install nightly)"
    exit 1
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
cd fuzz
for target in decode_responses decode_auth paginator upload_machine parse_inputs; do
    if ! cargo +nightly fuzz run -O "$target" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=65536 \
        >"${TMPDIR:-/tmp}/xdm-fuzz-$target.log" 2>&1; then
        echo "$target: FAILED (see ${TMPDIR:-/tmp}/xdm-fuzz-$target.log and fuzz/artifacts/$target)"
        failed=1
    fi
    grep -E 'Done [0-9]+ runs' "${TMPDIR:-/tmp}/xdm-fuzz-$target.log" | sed "s/^/$target: /" || true
done
exit "$failed"
