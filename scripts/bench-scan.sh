#!/usr/bin/env bash
# bench-scan.sh — scan speed and memory (issue 9, point 7), on the 4-layer
# Debian bookworm bench image (~220 MB uncompressed; scripts/build-bench-image.sh)
# with a warm advisory database built from ../shared/data (OSV PyPI, Go,
# crates.io; Alpine secdb) plus the Debian tracker, KEV and EPSS fixtures of
# crates/clearance-scan/tests/data/feeds. Prints, best of ROUNDS:
#   - `gzip -dc` over the same layers (the floor);
#   - a whole scan reading every layer (--no-layer-store): time, peak RSS,
#     and its ratio to gzip (target ≤ 1.5) and to 128 MiB;
#   - a re-scan whose layers are all stored (target ≤ 50 ms).
#
# Usage: scripts/bench-scan.sh [OCI_LAYOUT [ROUNDS]]   (default bench-data/oci, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
layout=${1:-bench-data/oci}
rounds=${2:-3}
tag=bench
if [ "$layout" = bench-data/oci ]; then
  scripts/build-bench-image.sh bench-data
fi
data=$(cd .. && pwd)/shared/data
[ -d "$data/osv" ] || { echo "bench-scan: $data/osv is missing; this benchmark builds its database from ../shared/data" >&2; exit 2; }
cargo build --release --quiet -p clearance
clearance=$PWD/target/release/clearance
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "$bench_timing"' EXIT
db=$work/advisories.db
feeds=crates/clearance-scan/tests/data/feeds
"$clearance" db build --db "$db" --source "$data/osv/PyPI.zip" --source "$data/osv/Go.zip" \
  --source "$data/osv/crates.io.zip" --source "$data/alpine-secdb/v3.10" --source "$data/alpine-secdb/v3.11" \
  --source "$feeds/debian-tracker.json" --source "$feeds/kev.json" --source "$feeds/epss.csv" >/dev/null
blobs=$(layer_blobs "$layout" "$tag")
image="oci:$layout:$tag"

read -r gz_t gz_m < <(measure sh -c "cat $blobs | gzip -dc >/dev/null")
read -r cold_t cold_m < <(measure "$clearance" scan --no-layer-store --db "$db" --format json "$image")
"$clearance" scan --db "$db" --format json "$image" >/dev/null   # stores the layers
read -r warm_t warm_m < <(measure "$clearance" scan --db "$db" --format json "$image")
findings=$("$clearance" scan --db "$db" --format json "$image" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["packages"], len(d["findings"]))')

printf '%-34s %10s %12s\n' "" "seconds" "peak RSS MiB"
printf '%-34s %10s %12s\n' "gzip -dc (layers)" "$gz_t" "$((gz_m / 1024))"
printf '%-34s %10s %12s\n' "clearance scan, every layer read" "$cold_t" "$((cold_m / 1024))"
printf '%-34s %10s %12s\n' "clearance scan, layers stored" "$warm_t" "$((warm_m / 1024))"
echo "packages, findings: $findings"
awk -v c="$cold_t" -v g="$gz_t" -v m="$cold_m" -v w="$warm_t" 'BEGIN {
  printf "scan / gzip -dc: %.2f (target <= 1.5: %s)\n", c / g, (c / g <= 1.5 ? "met" : "NOT met")
  printf "peak RSS / 128 MiB: %.2f (%s)\n", m / 131072, (m <= 131072 ? "met" : "NOT met")
  printf "re-scan: %.0f ms (target <= 50 ms: %s)\n", w * 1000, (w <= 0.05 ? "met" : "NOT met")
}'
