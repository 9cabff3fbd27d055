#!/usr/bin/env bash
# bench-java.sh — `clearance sbom` beside Syft on an image of real Java
# archives (issue 9, Java packages): wall time, peak RSS and the Maven
# packages each lists, best of ROUNDS, measured in the same run with GNU
# time, and `gzip -dc` over the same layer as the floor. Then the two
# package lists side by side: which artifacts both name, and where they
# differ (Syft guesses groupIds from symbolic names and file names;
# Clearance lists such archives by artifactId alone).
#
# The image (one layer, ~340 MB uncompressed, ~300 jars): the jars of
# PySpark 3.5.3 (PyPI sdist), tabula-py 2.9.3's jar-with-dependencies (PyPI
# wheel), and Debian bookworm's liblog4j2-java, libcommons-lang3-java and
# libjackson2-databind-java (apt-get download). Built once into
# bench-data/java (needs umoci, pip and apt-get; ~330 MB download).
#
# Usage: scripts/bench-java.sh [ROUNDS]   (ROUNDS defaults to 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
data=bench-data/java
layout=$data/oci
tag=java

if [ ! -f "$layout/index.json" ]; then
  for c in umoci pip3 apt-get dpkg-deb; do
    command -v "$c" >/dev/null || { echo "bench-java: $c is missing (scripts/install-test-deps.sh)" >&2; exit 2; }
  done
  mkdir -p "$data/dl"
  (cd "$data/dl" && pip3 download --quiet --no-deps -d . pyspark==3.5.3 tabula-py==2.9.3)
  (cd "$data/dl" && apt-get download -q liblog4j2-java libcommons-lang3-java libjackson2-databind-java 2>/dev/null)
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  for deb in "$data"/dl/*.deb; do dpkg-deb -x "$deb" "$root/rootfs"; done
  tar xzf "$data"/dl/pyspark-3.5.3.tar.gz -C "$root"
  mkdir -p "$root/rootfs/opt/spark" "$root/rootfs/opt/tabula"
  cp -r "$root"/pyspark-3.5.3/deps/jars "$root/rootfs/opt/spark/"
  python3 - "$data"/dl/tabula_py-2.9.3-py3-none-any.whl "$root/rootfs/opt/tabula" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.endswith(".jar"):
            with open(os.path.join(sys.argv[2], os.path.basename(n)), "wb") as out:
                out.write(z.read(n))
PY
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$root/bundle" >/dev/null
  cp -a "$root/rootfs/." "$root/bundle/rootfs/"
  umoci repack --image "$layout:$tag" "$root/bundle"
  # Removed here: bench-lib.sh sets its own EXIT trap below.
  rm -rf "$root"
  trap - EXIT
fi


cargo build --release --quiet -p clearance
clearance=target/release/clearance

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
syft=$(syft_binary)
blobs=$(layer_blobs "$layout" "$tag")
out=$(mktemp -d)

read -r gz_t gz_m < <(measure sh -c "cat $blobs | gzip -dc >/dev/null")
read -r cl_t cl_m < <(measure "$clearance" sbom --no-layer-store --format json "oci:$layout:$tag")
read -r sy_t sy_m < <(measure "$syft" scan -q -o json "oci-dir:$layout")
"$clearance" sbom --no-layer-store --format json "oci:$layout:$tag" >"$out/clearance.json"
"$syft" scan -q -o json "oci-dir:$layout" >"$out/syft.json"

printf '%-22s %10s %12s\n' "" "seconds" "peak RSS MiB"
printf '%-22s %10s %12s\n' "gzip -dc (layer)" "$gz_t" "$((gz_m / 1024))"
printf '%-22s %10s %12s\n' "clearance sbom" "$cl_t" "$((cl_m / 1024))"
printf '%-22s %10s %12s\n' "syft 1.18.1" "$sy_t" "$((sy_m / 1024))"
awk -v c="$cl_t" -v s="$sy_t" -v g="$gz_t" -v cm="$cl_m" -v sm="$sy_m" 'BEGIN {
  printf "clearance / syft: time %.2f, peak RSS %.2f\n", c / s, cm / sm
  printf "clearance / gzip -dc: %.2f\n", c / g
}'
python3 - "$out/clearance.json" "$out/syft.json" <<'PY'
import json, sys, urllib.parse
clearance = json.load(open(sys.argv[1]))["packages"]
syft = json.load(open(sys.argv[2]))["artifacts"]
def from_purl(purl):
    rest = purl[len("pkg:maven/"):].split("?")[0].split("#")[0]
    coords, _, version = rest.partition("@")
    group, _, artifact = coords.rpartition("/")
    name = f"{urllib.parse.unquote(group)}:{urllib.parse.unquote(artifact)}" if group else artifact
    return name, urllib.parse.unquote(version)
c = {(p["name"], p["version"]) for p in clearance if p["type"] == "maven"}
s = {from_purl(a["purl"]) for a in syft if a.get("purl", "").startswith("pkg:maven/")}
print(f"Maven artifacts (distinct name@version): clearance {len(c)}, syft {len(s)}, both {len(c & s)}")
print(f"clearance without a stated groupId (listed, not matched): {sum(1 for n, _ in c if ':' not in n)}")
# Where they differ only in the groupId Syft guessed.
bare = {(n.split(':')[-1], v) for n, v in s - c}
print(f"named by both, groupId guessed by syft only: {len({x for x in c - s if ':' not in x[0]} & bare)}")
other_c = sorted(x for x in c - s if not (':' not in x[0] and x in bare))
other_s = sorted(x for x in s - c if (x[0].split(':')[-1], x[1]) not in {(n, v) for n, v in c if ':' not in n})
print("only clearance:", ", ".join(f"{n}@{v}" for n, v in other_c) or "none")
print("only syft:", ", ".join(f"{n}@{v}" for n, v in other_s) or "none")
PY
rm -rf "$out"
