#!/usr/bin/env bash
# build-bench-image.sh — build a real Debian bookworm image (>= 150 MB
# uncompressed) for Clearance benchmarks: debootstrap a minbase rootfs (plus
# python3, perl, ca-certificates, curl) and pack it with umoci into an OCI
# layout in several layers. Must run as root; downloads from a Debian mirror.
#
# Usage: scripts/build-bench-image.sh OUT_DIR
#
#   Produces OUT_DIR/oci (OCI layout, tag "bench"). Cached: if OUT_DIR/oci
#   already has tag "bench" it prints "bench image present" and exits 0.
#   Env: DEBIAN_MIRROR (default http://deb.debian.org/debian).
#
# Layers:
#   1: debootstrap rootfs without /usr/share and /usr/lib/python3*
#   2: /usr/share
#   3: /usr/lib/python3*
#   4: deletions (whiteouts: usr/share/{doc,man,info}, some logs) plus
#      8 MiB of incompressible random data under /opt/blob
set -euo pipefail

die() { echo "build-bench-image: error: $*" >&2; exit 1; }

[ "$#" -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT_DIR=$1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
INCLUDE=python3,perl,ca-certificates,curl
TAG=bench

for c in umoci debootstrap gzip; do
  command -v "$c" >/dev/null 2>&1 \
    || die "'$c' not found (run scripts/install-test-deps.sh)"
done

# ---- cache check -------------------------------------------------------------
if [ -e "$OUT_DIR/oci" ]; then
  tags=$(umoci ls --layout "$OUT_DIR/oci" 2>&1) \
    || die "'$OUT_DIR/oci' exists but cannot be read as an OCI layout: $tags"
  if printf '%s\n' "$tags" | grep -qx "$TAG"; then
    echo "bench image present"
    exit 0
  fi
  die "'$OUT_DIR/oci' exists but has no '$TAG' tag; remove it and rerun"
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root (current uid $(id -u)); rerun with sudo"

[ ! -e "$OUT_DIR" ] || [ -d "$OUT_DIR" ] || die "OUT_DIR '$OUT_DIR' is not a directory"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/clearance-bench-image.XXXXXX")
cleanup() {
  # Unmount anything debootstrap may have left mounted (deepest first), then
  # delete without crossing into other filesystems.
  awk -v p="$SCRATCH/" 'index($2, p) == 1 { print $2 }' /proc/mounts \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$SCRATCH"
}
trap cleanup EXIT

umask 022
LAYOUT="$SCRATCH/oci"          # moved to OUT_DIR/oci only when complete
IMG="$LAYOUT:$TAG"
BUNDLE="$SCRATCH/bundle"
ROOT="$BUNDLE/rootfs"
STAGE="$SCRATCH/stage"
mkdir -p "$STAGE/python"

start=$(date +%s)
umoci init --layout "$LAYOUT"
umoci new --image "$IMG"
umoci unpack --image "$IMG" "$BUNDLE" >/dev/null

# ---- debootstrap -------------------------------------------------------------
echo "debootstrap --variant=minbase --include=$INCLUDE $SUITE ($MIRROR) ..."
LOG="$SCRATCH/debootstrap.log"
if ! debootstrap --variant=minbase --include="$INCLUDE" \
     "$SUITE" "$ROOT" "$MIRROR" >"$LOG" 2>&1; then
  echo "---- last lines of debootstrap output ----" >&2
  tail -n 30 "$LOG" >&2
  [ -f "$ROOT/debootstrap/debootstrap.log" ] \
    && tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi
if awk -v p="$ROOT/" 'index($2, p) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
  die "debootstrap left filesystems mounted under $ROOT"
fi
rm -rf "$ROOT/var/cache/apt/archives/"*.deb "$ROOT/var/lib/apt/lists/"*_Packages
echo "debootstrap done in $(( $(date +%s) - start ))s; rootfs $(du -sm "$ROOT" | cut -f1) MiB"

# ---- layer 1: base without /usr/share and /usr/lib/python3* -----------------
shopt -s nullglob
py=("$ROOT"/usr/lib/python3*)
shopt -u nullglob
[ "${#py[@]}" -gt 0 ] || die "no /usr/lib/python3* in rootfs (python3 not installed?)"
[ -d "$ROOT/usr/share" ] || die "no /usr/share in rootfs"
mv "$ROOT/usr/share" "$STAGE/share"
mv "${py[@]}" "$STAGE/python/"

echo "repack layer 1 ..."
umoci repack --refresh-bundle --image "$IMG" \
  --history.created_by "layer 1: debootstrap minbase $SUITE (without /usr/share, /usr/lib/python3*)" \
  "$BUNDLE"

# ---- layer 2: /usr/share ------------------------------------------------------
mv "$STAGE/share" "$ROOT/usr/share"
echo "repack layer 2 ..."
umoci repack --refresh-bundle --image "$IMG" \
  --history.created_by "layer 2: /usr/share" "$BUNDLE"

# ---- layer 3: /usr/lib/python3* -----------------------------------------------
mv "$STAGE/python/"* "$ROOT/usr/lib/"
echo "repack layer 3 ..."
umoci repack --refresh-bundle --image "$IMG" \
  --history.created_by "layer 3: /usr/lib/python3*" "$BUNDLE"

# ---- layer 4: deletions (whiteouts) + random data -----------------------------
rm -rf "$ROOT/usr/share/doc" "$ROOT/usr/share/man" "$ROOT/usr/share/info" \
  "$ROOT/var/log/dpkg.log" "$ROOT/var/log/alternatives.log" "$ROOT/var/log/apt"
mkdir -p "$ROOT/opt/blob"
for i in 1 2 3 4; do
  head -c $((2 * 1024 * 1024)) /dev/urandom >"$ROOT/opt/blob/random-$i.bin"
done
echo "repack layer 4 ..."
umoci repack --refresh-bundle --image "$IMG" \
  --history.created_by "layer 4: remove docs/man/info/logs, add /opt/blob random data" \
  "$BUNDLE"

umoci config --image "$IMG" --os linux \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.cmd /bin/bash \
  --history.created_by "config: cmd /bin/bash"
umoci gc --layout "$LAYOUT"

# ---- publish + report ---------------------------------------------------------
mv "$LAYOUT" "$OUT_DIR/oci"
IMG="$OUT_DIR/oci:$TAG"

echo "bench image $IMG built in $(( $(date +%s) - start ))s"
printf '%-6s %-73s %12s %14s\n' LAYER DIGEST COMPRESSED UNCOMPRESSED
n=0; tc=0; tu=0
while read -r digest; do
  blob="$OUT_DIR/oci/blobs/sha256/${digest#sha256:}"
  c=$(stat -c %s "$blob")
  u=$(gzip -dc "$blob" | wc -c)
  n=$((n + 1)); tc=$((tc + c)); tu=$((tu + u))
  printf '%-6s %-73s %12d %14d\n' "$n" "$digest" "$c" "$u"
done < <(umoci stat --image "$IMG" | awk '$1 ~ /^sha256:/ { print $1 }')
printf '%-6s %-73s %12d %14d\n' total "" "$tc" "$tu"
[ "$n" -ge 4 ] || die "expected at least 4 layers, found $n"
