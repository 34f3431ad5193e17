#!/usr/bin/env bash
# Replaces the reference documents in spec/ with those of a source directory and records their
# sha256 sums in spec/SHA256SUMS, which a test of xdm-core checks.
#
#   spec/refresh.sh SRC_DIR
#
# SRC_DIR holds openapi-2.166.json, openapi-2.167.json and a fixtures/ directory (see
# spec/README.md for where each comes from). Files are copied byte for byte; fixtures that are no
# longer in SRC_DIR are removed here too, so the copy never mixes two generations.
set -euo pipefail

if [ "$#" -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: spec/refresh.sh SRC_DIR" >&2
    exit 2
fi
SRC="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
SPECS=(openapi-2.166.json openapi-2.167.json)

# Check everything before touching anything, so a bad source leaves spec/ as it was.
for name in "${SPECS[@]}"; do
    [ -f "$SRC/$name" ] || { echo "missing: $SRC/$name" >&2; exit 1; }
    version="${name#openapi-}"
    version="${version%.json}"
    # The file name promises a version; the document must agree.
    if ! grep -Eq "\"version\"[[:space:]]*:[[:space:]]*\"$version\"" "$SRC/$name"; then
        echo "$SRC/$name does not declare info.version $version" >&2
        exit 1
    fi
done
[ -f "$SRC/fixtures/README.md" ] || { echo "missing: $SRC/fixtures/README.md" >&2; exit 1; }

for name in "${SPECS[@]}"; do
    cp "$SRC/$name" "$HERE/$name"
done
rm -rf "$HERE/fixtures"
mkdir "$HERE/fixtures"
# Fixtures may sit in subdirectories (fixtures/activity/).
cp -R "$SRC"/fixtures/. "$HERE/fixtures/"
chmod 0644 "$HERE"/openapi-*.json
find "$HERE/fixtures" -type f -exec chmod 0644 {} +

cd "$HERE"
{
    for name in "${SPECS[@]}"; do
        sha256sum "$name"
    done
    find fixtures -type f | LC_ALL=C sort | xargs sha256sum
} > SHA256SUMS
echo "spec/ refreshed from $SRC; sums in spec/SHA256SUMS:"
cat SHA256SUMS
