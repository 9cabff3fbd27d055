#!/usr/bin/env bash
# accuracy.sh — the scanner's accuracy against real advisory data (issue 9,
# point 8). Builds an image on the real Debian bookworm bench image
# (debootstrap, scripts/build-bench-image.sh) with real packages from PyPI
# (`pip download`, installed with `pip install --no-deps --target`) and a
# Cargo.lock of old crates, then scans it against a database built from the
# OSV snapshots in ../shared/data and prints recall over named true
# positives and the false positives on named traps.
#
# True positives (each checked by hand against the OSV records):
#   requests 2.19.1   PYSEC-2018-28 (CVE-2018-18074), PYSEC-2023-74 (CVE-2023-32681)
#   smallvec 1.6.0    RUSTSEC-2021-0003 (CVE-2021-25900)
#   regex 1.5.4       RUSTSEC-2022-0013 (CVE-2022-24713)
#   time 0.1.43       RUSTSEC-2020-0071 (CVE-2020-26235)
# Traps (nothing may be reported):
#   requests 2.19.1   PYSEC-2014-13, PYSEC-2014-14 (fixed in 2.3.0, below), PYSEC-2015-17 (2.1.0-2.6.0)
#   idna 3.7          PYSEC-2024-60 (fixed in exactly 3.7)
#   hyper 0.14.12     RUSTSEC-2022-0022 (fixed in 0.14.12), RUSTSEC-2021-0078/0079 (0.14.10)
#   tokio 1.38.2      RUSTSEC-2025-0023 (fixed in 1.38.2) and older ranges
#   urllib3 1.24.1    installed in one layer, deleted by the next (its 8 advisories)
#   jinja2 2.10       installed by a Debian package (python3-jinja2 owns its egg-info):
#                     its 5 PyPI advisories belong to Debian's data, not PyPI's
#
# Secrets (made at run time from /dev/urandom; none is in this file):
#   found:  /root/.aws/credentials (an access key id and its secret; a later layer
#           deletes the file, so it must be found and marked deleted), /app/.env
#           (a database password), ENV GITHUB_TOKEN in the config
#   traps:  AWS's documented example key in /app/README.md, a private key in a
#           package's tests directory, ${NPM_TOKEN} in /app/.npmrc
#
# Usage: scripts/accuracy.sh   (needs umoci, pip; PyPI reachable; root for the
#        bench image's first build)
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(cd .. && pwd)/shared/data
[ -d "$data/osv" ] || { echo "accuracy: $data/osv is missing; the check needs the OSV snapshots in ../shared/data" >&2; exit 2; }
for c in umoci pip3 python3; do command -v "$c" >/dev/null || { echo "accuracy: $c missing (scripts/install-test-deps.sh)" >&2; exit 2; }; done
scripts/build-bench-image.sh bench-data
cargo build --release --quiet -p clearance
clearance=$PWD/target/release/clearance
work=$(mktemp -d "${TMPDIR:-/tmp}/clearance-accuracy.XXXXXX")
trap 'rm -rf "$work"' EXIT

cp -r bench-data/oci "$work/oci"
cd "$work"
umoci unpack --image oci:bench bundle >/dev/null
R=bundle/rootfs
SITE=$R/usr/local/lib/python3.11/dist-packages
mkdir -p wheels "$SITE"
pip3 download --quiet --no-deps --only-binary=:all: --dest wheels \
  requests==2.19.1 urllib3==1.24.1 idna==3.7
pip3 install --quiet --no-deps --no-compile --target "$SITE" wheels/*.whl
# Debian's python3-jinja2: the egg-info its file list names (synthetic dpkg entry).
EGG=usr/lib/python3/dist-packages/Jinja2-2.10.egg-info
mkdir -p "$R/$EGG"
printf 'Metadata-Version: 1.1\nName: Jinja2\nVersion: 2.10\n' > "$R/$EGG/PKG-INFO"
printf 'Package: python3-jinja2\nStatus: install ok installed\nArchitecture: all\nSource: jinja2\nVersion: 2.10-2\n\n' >> "$R/var/lib/dpkg/status"
printf '/.\n/usr\n/%s\n/%s/PKG-INFO\n' "$EGG" "$EGG" > "$R/var/lib/dpkg/info/python3-jinja2.list"
mkdir -p "$R/app"
cat > "$R/app/Cargo.lock" <<'LOCK'
version = 3

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "regex"
version = "1.5.4"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "time"
version = "0.1.43"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "hyper"
version = "0.14.12"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tokio"
version = "1.38.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
LOCK
# rand ALPHABET N: N characters of ALPHABET (sets: upper, b32, alnum, b64).
rand() {
  python3 -c 'import secrets, string, sys
sets = {"b32": string.ascii_uppercase + "234567", "alnum": string.ascii_letters + string.digits}
sets["b64"] = sets["alnum"] + "+/"
print("".join(secrets.choice(sets[sys.argv[1]]) for _ in range(int(sys.argv[2]))), end="")' "$1" "$2"
}
mkdir -p "$R/root/.aws" "$R/app" "$SITE/widgets/tests"
printf '[default]\naws_access_key_id = AKIA%s\naws_secret_access_key = %s\n' \
  "$(rand b32 16)" "$(rand b64 40)" > "$R/root/.aws/credentials"
printf 'DATABASE_PASSWORD=%s\n' "$(rand alnum 24)" > "$R/app/.env"
printf 'Set AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE as in the AWS documentation.\n' > "$R/app/README.md"
printf '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n' > "$R/app/.npmrc"
{ printf -- '-----BEGIN RSA PRIVATE KEY-----\n'; rand b64 1600 | fold -w 64; printf '\n-----END RSA PRIVATE KEY-----\n'; } \
  > "$SITE/widgets/tests/server.key"
umoci repack --refresh-bundle --image oci:bench --history.created_by "pip install; COPY Cargo.lock" bundle
rm -rf "$SITE"/urllib3 "$SITE"/urllib3-1.24.1.dist-info "$R/root/.aws"
umoci repack --refresh-bundle --image oci:bench --history.created_by "pip uninstall urllib3; rm -r /root/.aws" bundle
umoci config --image oci:bench --config.env "GITHUB_TOKEN=ghp_$(rand alnum 36)"

"$clearance" db build --db "$work/a.db" --source "$data/osv/PyPI.zip" --source "$data/osv/crates.io.zip" >/dev/null
"$clearance" scan --no-layer-store --db "$work/a.db" --format json "oci:$work/oci:bench" > scan.json
python3 - scan.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
found = {(f["package"]["name"].lower(), f["package"]["version"], a)
         for f in report["findings"] for a in [f["id"], *f["aliases"]]}
tps = [("requests", "2.19.1", "PYSEC-2018-28"), ("requests", "2.19.1", "PYSEC-2023-74"),
       ("smallvec", "1.6.0", "RUSTSEC-2021-0003"), ("regex", "1.5.4", "RUSTSEC-2022-0013"),
       ("time", "0.1.43", "RUSTSEC-2020-0071")]
hits = [t for t in tps if t in found]
trap_packages = {"idna", "hyper", "tokio", "urllib3", "jinja2"}
trap_ids = {"PYSEC-2014-13", "PYSEC-2014-14", "PYSEC-2015-17"}
fps = sorted({(n, v, i) for (n, v, i) in found
              if n in trap_packages or (n == "requests" and i in trap_ids)})
print(f"findings: {len(report['findings'])}, owned (matched through the OS package): {report['owned']}")
for t in tps:
    print(("found  " if t in hits else "MISSED ") + " ".join(t))
print(f"recall: {len(hits)}/{len(tps)} = {len(hits) / len(tps):.2f}")
print(f"false positives on traps: {len(fps)}")
for fp in fps:
    print("  FALSE POSITIVE " + " ".join(fp))

secrets = report["secrets"]["findings"]
def seen(path, deleted=None):
    return any(f["path"] == path and (deleted is None or (f["deleted_in"] is not None) == deleted)
               for f in secrets)
secret_tps = [("/root/.aws/credentials, deleted", seen("/root/.aws/credentials", True)),
              ("/app/.env", seen("/app/.env")),
              ("config:Env GITHUB_TOKEN", seen("config:Env"))]
trap_paths = ["/app/README.md", "/app/.npmrc",
              "/usr/local/lib/python3.11/dist-packages/widgets/tests/server.key"]
secret_fps = [p for p in trap_paths if seen(p)]
for name, ok in secret_tps:
    print(("found  " if ok else "MISSED ") + "secret " + name)
print(f"secrets recall: {sum(ok for _, ok in secret_tps)}/{len(secret_tps)}; "
      f"false positives on traps: {len(secret_fps)} {secret_fps}")
others = sorted({(f["rule_id"], f["path"]) for f in secrets} -
                {(f["rule_id"], f["path"]) for f in secrets
                 if f["path"] in ("/root/.aws/credentials", "/app/.env", "config:Env")})
print(f"other secrets in the image (not scored): {others}")
masks_leak = [f["masked"] for f in secrets if len(f["masked"].rstrip("*")) > 4]
if masks_leak:
    print(f"MASK SHOWS TOO MUCH: {masks_leak}")
ok = (len(hits) == len(tps) and not fps and all(ok for _, ok in secret_tps)
      and not secret_fps and not masks_leak)
sys.exit(0 if ok else 1)
PY
