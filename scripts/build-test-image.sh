#!/usr/bin/env bash
# build-test-image.sh — build a small (few KB), multi-layer OCI test image for
# Clearance's integration tests, using umoci (layers/config) and skopeo
# (archive conversion). No network access, no container engine.
#
# Usage: scripts/build-test-image.sh OUT_DIR
#
# OUT_DIR must not exist or be empty. Produces:
#   OUT_DIR/oci/               OCI image layout, tag "v1" (3 layers + config)
#   OUT_DIR/image.oci.tar      oci-archive of oci:v1 (ref "v1")
#   OUT_DIR/image.docker.tar   docker-archive, tag example/app:v1
#   OUT_DIR/multi.docker.tar   docker-archive, one image with two tags:
#                              example/app:v1 and example/other:v2
#
# Layers:
#   1: etc/os-release, etc/passwd, usr/bin/hello (0755), usr/bin/hi -> hello,
#      var/lib/app/data.txt ("one")
#   2: var/lib/app/data.txt -> "two", opt/app/config.json,
#      opt/app/secret.env (AWS_SECRET_ACCESS_KEY=abc123)
#   3: delete opt/app/secret.env (whiteout opt/app/.wh.secret.env),
#      add opt/app/README
# Config: user app, workdir /opt/app, entrypoint /usr/bin/hello, cmd world,
#   env PATH=/usr/bin:/bin and API_TOKEN=supersecretvalue, port 8080/tcp,
#   label org.example.team=platform, linux/amd64.
set -euo pipefail

die() { echo "build-test-image: error: $*" >&2; exit 1; }

[ "$#" -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT_DIR=$1

for c in umoci skopeo tar touch; do
  command -v "$c" >/dev/null 2>&1 \
    || die "'$c' not found (run scripts/install-test-deps.sh)"
done

if [ -e "$OUT_DIR" ]; then
  [ -d "$OUT_DIR" ] || die "OUT_DIR '$OUT_DIR' exists and is not a directory"
  [ -z "$(ls -A "$OUT_DIR")" ] || die "OUT_DIR '$OUT_DIR' exists and is not empty"
fi
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/clearance-test-image.XXXXXX")
cleanup() { rm -rf "$SCRATCH"; }
trap cleanup EXIT

umask 022
# Fixed timestamps keep layer contents reproducible (umoci stores mtimes).
T1=2020-01-01T00:00:00Z
T2=2020-01-02T00:00:00Z
T3=2020-01-03T00:00:00Z
CREATED=2020-01-04T00:00:00Z

IMG="$OUT_DIR/oci:v1"
BUNDLE="$SCRATCH/bundle"
ROOT="$BUNDLE/rootfs"

# Set mtime on every path under the rootfs (symlinks themselves with -h).
stamp() { find "$ROOT" -exec touch -h -d "$1" {} +; }

umoci init --layout "$OUT_DIR/oci"
umoci new --image "$IMG"
# umoci new sets "created" to now; pin it before anything else.
umoci config --image "$IMG" --created "$CREATED" --no-history
umoci unpack --image "$IMG" "$BUNDLE" >/dev/null

# ---- layer 1: base files ---------------------------------------------------
mkdir -p "$ROOT/etc" "$ROOT/usr/bin" "$ROOT/var/lib/app"
printf 'ID=testos\nVERSION_ID=1.0\n' >"$ROOT/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/opt/app:/bin/sh\n' \
  >"$ROOT/etc/passwd"
printf '#!/bin/sh\necho "hello ${1:-world}"\n' >"$ROOT/usr/bin/hello"
chmod 0755 "$ROOT/usr/bin/hello"
printf 'one\n' >"$ROOT/var/lib/app/data.txt"
ln -s hello "$ROOT/usr/bin/hi"
stamp "$T1"
umoci repack --refresh-bundle --image "$IMG" \
  --history.created "$T1" --history.created_by "layer 1: base files" "$BUNDLE"

# ---- layer 2: app config + secret ------------------------------------------
mkdir -p "$ROOT/opt/app"
printf 'two\n' >"$ROOT/var/lib/app/data.txt"
printf '{"name":"app"}' >"$ROOT/opt/app/config.json"
printf 'AWS_SECRET_ACCESS_KEY=abc123\n' >"$ROOT/opt/app/secret.env"
touch -d "$T2" "$ROOT/var/lib/app/data.txt" "$ROOT/var/lib/app" \
  "$ROOT/opt" "$ROOT/opt/app" "$ROOT/opt/app/config.json" \
  "$ROOT/opt/app/secret.env" "$ROOT"
umoci repack --refresh-bundle --image "$IMG" \
  --history.created "$T2" \
  --history.created_by "layer 2: app config, secret.env, data.txt=two" "$BUNDLE"

# ---- layer 3: remove secret (whiteout) + README ----------------------------
rm "$ROOT/opt/app/secret.env"
printf 'readme\n' >"$ROOT/opt/app/README"
touch -d "$T3" "$ROOT/opt/app/README" "$ROOT/opt/app"
umoci repack --refresh-bundle --image "$IMG" \
  --history.created "$T3" \
  --history.created_by "layer 3: delete secret.env, add README" "$BUNDLE"

# ---- image config ----------------------------------------------------------
# umoci config writes a new manifest and re-points the tag (no --tag given),
# so v1 ends up on the final manifest.
umoci config --image "$IMG" \
  --created "$CREATED" \
  --author "clearance tests" \
  --architecture amd64 --os linux \
  --config.user app \
  --config.workingdir /opt/app \
  --config.entrypoint /usr/bin/hello \
  --config.cmd world \
  --config.env PATH=/usr/bin:/bin \
  --config.env API_TOKEN=supersecretvalue \
  --config.exposedports 8080/tcp \
  --config.label org.example.team=platform \
  --history.created "$CREATED" \
  --history.created_by "config: user app, entrypoint /usr/bin/hello, env, port 8080/tcp"

# Drop the intermediate (now unreferenced) manifests/configs.
umoci gc --layout "$OUT_DIR/oci"

# ---- archives --------------------------------------------------------------
# skopeo must not touch the network or the user's policy; use an
# accept-anything policy in the scratch dir.
POLICY="$SCRATCH/policy.json"
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$POLICY"
sk() { skopeo --policy "$POLICY" "$@"; }

sk copy --quiet "oci:$OUT_DIR/oci:v1" "oci-archive:$OUT_DIR/image.oci.tar:v1"
sk copy --quiet "oci:$OUT_DIR/oci:v1" \
  "docker-archive:$OUT_DIR/image.docker.tar:example/app:v1"
sk copy --quiet --additional-tag example/other:v2 "oci:$OUT_DIR/oci:v1" \
  "docker-archive:$OUT_DIR/multi.docker.tar:example/app:v1"

nlayers=$(umoci stat --image "$IMG" | grep -c '^sha256:' || true)
[ "$nlayers" -eq 3 ] || die "expected 3 layers in $IMG, found $nlayers"
size=$(du -sk "$OUT_DIR" | cut -f1)
echo "built test image in $OUT_DIR: oci:v1 ($nlayers layers), image.oci.tar, image.docker.tar, multi.docker.tar; ${size} KiB on disk"
