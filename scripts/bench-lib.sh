# bench-lib.sh — shared by the benchmark scripts (source it; needs $rounds).

[ -x /usr/bin/time ] || { echo "bench: GNU time missing (scripts/install-test-deps.sh)" >&2; exit 2; }
bench_timing=$(mktemp)
trap 'rm -f "$bench_timing"' EXIT

# best-of-$rounds wall seconds and peak RSS (KiB) of a command.
measure() {
  local best_t="" best_m=""
  for _ in $(seq "$rounds"); do
    /usr/bin/time -f '%e %M' -o "$bench_timing" "$@" >/dev/null 2>&1
    local out
    out=$(tail -1 "$bench_timing")
    local t=${out% *} m=${out#* }
    if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; fi
    if [ -z "$best_m" ] || [ "$m" -lt "$best_m" ]; then best_m=$m; fi
  done
  echo "$best_t $best_m"
}

# The layer blob files of tag $2 in OCI layout $1, space-separated.
layer_blobs() {
  python3 - "$1" "$2" <<'PY'
import json, sys, os
layout, tag = sys.argv[1], sys.argv[2]
index = json.load(open(os.path.join(layout, "index.json")))
m = next(d for d in index["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
blob = lambda d: os.path.join(layout, "blobs", *d["digest"].split(":"))
manifest = json.load(open(blob(m)))
print(" ".join(blob(l) for l in manifest["layers"]))
PY
}
