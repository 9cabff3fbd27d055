#!/usr/bin/env bash
# accuracy.sh — the scanner's accuracy against real advisory data (issue 9,
# point 8). For each of Debian bullseye, bookworm and trixie it builds an
# image offline from real parts — a debootstrap minbase (bookworm: the bench
# image of scripts/build-bench-image.sh), old pinned PyPI packages (`pip
# download`, installed with `pip install --no-deps --target`), a Cargo.lock of
# old crates, an npm module from the npm registry, Debian's node-semver, a Go
# binary built here by Debian's Go 1.19.8 against Debian's golang.org/x/net
# 0.7.0 source (vendored, GOPROXY=off), and a Spring Boot-style jar — scans
# it against a database built from the OSV snapshots in ../shared/data, and
# prints recall over named true positives and the false positives on named
# traps, per release and in all.
#
# True positives (each checked by hand against the OSV records):
#   requests 2.19.1   PYSEC-2018-28 (CVE-2018-18074), PYSEC-2023-74 (CVE-2023-32681)
#   smallvec 1.6.0    RUSTSEC-2021-0003 (CVE-2021-25900)
#   regex 1.5.4       RUSTSEC-2022-0013 (CVE-2022-24713)
#   time 0.1.43       RUSTSEC-2020-0071 (CVE-2020-26235)
#   Go binary         stdlib 1.19.8: GO-2023-1751 (fixed 1.19.9), GO-2023-1840 (1.19.10);
#                     golang.org/x/net v0.7.0: GO-2023-1988 (0.13.0), GO-2023-2102 (0.17.0)
#   npm semver 7.3.5  GHSA-c2qf-rxjj-qqgw (CVE-2022-25883) in /app/node_modules
#   Maven log4j-core 2.14.1 in /app/app.jar!/BOOT-INF/lib/: GHSA-jfh8-c2jp-5v3q (CVE-2021-44228)
#   (npm and Maven have no snapshot in ../shared/data: their two records are
#   written below by hand from the public GitHub advisories, ranges only.)
# Traps (nothing may be reported):
#   requests 2.19.1   PYSEC-2014-13, PYSEC-2014-14 (fixed in 2.3.0, below), PYSEC-2015-17 (2.1.0-2.6.0)
#   idna 3.7          PYSEC-2024-60 (fixed in exactly 3.7)
#   hyper 0.14.12     RUSTSEC-2022-0022 (fixed in 0.14.12), RUSTSEC-2021-0078/0079 (0.14.10)
#   tokio 1.38.2      RUSTSEC-2025-0023 (fixed in 1.38.2) and older ranges
#   urllib3 1.24.1    installed in one layer, deleted by the next (its 8 advisories)
#   jinja2 2.10       installed by a Debian package (python3-jinja2 owns its egg-info):
#                     its 5 PyPI advisories belong to Debian's data, not PyPI's
#   Go binary         GO-2023-1571 (x/net, fixed in exactly 0.7.0), GO-2023-1702..1705
#                     (stdlib, fixed in exactly 1.19.8); a copy of the binary deleted by
#                     a later layer
#   node-semver       Debian's semver 7.3.5 in /usr/share/nodejs (its files are the
#                     real .deb's, its dpkg entry written here): GHSA-c2qf-rxjj-qqgw is
#                     Debian's to judge, not npm's
#   log4j-core 2.14.1 the same jar in /opt/old, deleted by a later layer
#
# Secrets (made at run time from /dev/urandom; none is in this file):
#   found:  /root/.aws/credentials (an access key id and its secret; a later layer
#           deletes the file, so it must be found and marked deleted), /app/.env
#           (a database password), ENV GITHUB_TOKEN in the config
#   traps:  AWS's documented example key in /app/README.md, a private key in a
#           package's tests directory, ${NPM_TOKEN} in /app/.npmrc
#
# Usage: scripts/accuracy.sh [SUITE...]   (default: bullseye bookworm trixie;
#        needs root for debootstrap the first time, umoci, pip, go (Debian's
#        golang-go, 1.19.8), curl; PyPI, npm and Debian mirrors reachable).
#        Minbase images are cached in bench-data/accuracy-SUITE.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(cd .. && pwd)/shared/data
[ -d "$data/osv" ] || { echo "accuracy: $data/osv is missing; the check needs the OSV snapshots in ../shared/data" >&2; exit 2; }
for c in umoci pip3 python3 go curl dpkg-deb apt-get debootstrap; do
  command -v "$c" >/dev/null || { echo "accuracy: $c missing (scripts/install-test-deps.sh; go is Debian's golang-go)" >&2; exit 2; }
done
[ "$(go env GOVERSION)" = go1.19.8 ] || {
  echo "accuracy: the Go expectations are for go1.19.8 (Debian bookworm's golang-go); this go is $(go env GOVERSION)" >&2; exit 2; }
suites=${*:-bullseye bookworm trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cargo build --release --quiet -p clearance
clearance=$PWD/target/release/clearance
bench=$PWD/bench-data
work=$(mktemp -d "${TMPDIR:-/tmp}/clearance-accuracy.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT

# The base image of a release, as "LAYOUT TAG": bookworm's is the bench image;
# the others a debootstrap minbase in one layer, built once and cached.
base_image() {
  local suite=$1
  if [ "$suite" = bookworm ]; then
    scripts/build-bench-image.sh "$bench" >/dev/null
    echo "$bench/oci bench"
    return
  fi
  local dir=$bench/accuracy-$suite
  if [ ! -f "$dir/oci/index.json" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "accuracy: debootstrap needs root to build the $suite image" >&2; exit 2; }
    local scratch
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/clearance-accuracy-$suite.XXXXXX")
    umoci init --layout "$scratch/oci"
    umoci new --image "$scratch/oci:$suite"
    umoci unpack --image "$scratch/oci:$suite" "$scratch/bundle" >/dev/null
    echo "accuracy: debootstrap --variant=minbase $suite ..." >&2
    debootstrap --variant=minbase "$suite" "$scratch/bundle/rootfs" "$mirror" >"$scratch/debootstrap.log" 2>&1 ||
      { tail -20 "$scratch/debootstrap.log" >&2; exit 1; }
    rm -rf "$scratch/bundle/rootfs/var/cache/apt/archives/"*.deb
    umoci repack --image "$scratch/oci:$suite" --history.created_by "debootstrap --variant=minbase $suite" "$scratch/bundle" >/dev/null
    mkdir -p "$dir"
    mv "$scratch/oci" "$dir/oci"
    rm -rf --one-file-system "$scratch"
  fi
  echo "$dir/oci $suite"
}

cd "$work"
# ---- parts shared by every image, fetched and built once ----------------------
mkdir -p wheels debs gosrc/vendor/golang.org/x/net osv-extra
pip3 download --quiet --no-deps --only-binary=:all: --dest wheels \
  requests==2.19.1 urllib3==1.24.1 idna==3.7
(cd debs && apt-get download -q golang-golang-x-net-dev node-semver 2>/dev/null)
curl -sSf -o semver-7.3.5.tgz https://registry.npmjs.org/semver/-/semver-7.3.5.tgz
# A Go program using golang.org/x/net/html 0.7.0 (Debian's source, vendored).
dpkg-deb -x debs/golang-golang-x-net-dev_*.deb xnet
cp -r xnet/usr/share/gocode/src/golang.org/x/net/html gosrc/vendor/golang.org/x/net/
printf 'module example.com/accuracy\n\ngo 1.19\n\nrequire golang.org/x/net v0.7.0\n' > gosrc/go.mod
printf '# golang.org/x/net v0.7.0\n## explicit; go 1.17\ngolang.org/x/net/html\ngolang.org/x/net/html/atom\n' > gosrc/vendor/modules.txt
cat > gosrc/main.go <<'GO'
package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>accuracy</p>"))
	fmt.Println(doc.Type, err)
}
GO
(cd gosrc && GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 go build -o ../gohello .)
# A Spring Boot-style jar holding log4j-core 2.14.1 (its pom.properties as Maven writes it).
python3 - <<'PY'
import io, zipfile
def archive(entries, method):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()
pom = lambda g, a, v: f"#Generated by Maven\r\ngroupId={g}\r\nartifactId={a}\r\nversion={v}\r\n"
log4j = archive([("META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                  pom("org.apache.logging.log4j", "log4j-core", "2.14.1"))], zipfile.ZIP_DEFLATED)
open("log4j-core-2.14.1.jar", "wb").write(log4j)
open("app.jar", "wb").write(archive([
    ("META-INF/maven/com.example/demo/pom.properties", pom("com.example", "demo", "1.0.0")),
    ("BOOT-INF/lib/log4j-core-2.14.1.jar", log4j)], zipfile.ZIP_STORED))
PY
# The two records no snapshot has, ranges as the public GitHub advisories give them.
cat > osv-extra/GHSA-c2qf-rxjj-qqgw.json <<'JSON'
{"schema_version": "1.6.0", "id": "GHSA-c2qf-rxjj-qqgw", "modified": "2024-01-01T00:00:00Z",
 "aliases": ["CVE-2022-25883"], "summary": "semver vulnerable to Regular Expression Denial of Service",
 "affected": [{"package": {"ecosystem": "npm", "name": "semver"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "5.7.2"},
     {"introduced": "6.0.0"}, {"fixed": "6.3.1"}, {"introduced": "7.0.0"}, {"fixed": "7.5.2"}]}]}]}
JSON
cat > osv-extra/GHSA-jfh8-c2jp-5v3q.json <<'JSON'
{"schema_version": "1.6.0", "id": "GHSA-jfh8-c2jp-5v3q", "modified": "2024-01-01T00:00:00Z",
 "aliases": ["CVE-2021-44228"], "summary": "Remote code injection in Log4j",
 "affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0-beta9"}, {"fixed": "2.3.1"},
     {"introduced": "2.4"}, {"fixed": "2.12.2"}, {"introduced": "2.13.0"}, {"fixed": "2.15.0"}]}]}]}
JSON
"$clearance" db build --db "$work/a.db" --source "$data/osv/PyPI.zip" --source "$data/osv/crates.io.zip" \
  --source "$data/osv/Go.zip" --source osv-extra >/dev/null

# rand ALPHABET N: N characters of ALPHABET (sets: upper, b32, alnum, b64).
rand() {
  python3 -c 'import secrets, string, sys
sets = {"b32": string.ascii_uppercase + "234567", "alnum": string.ascii_letters + string.digits}
sets["b64"] = sets["alnum"] + "+/"
print("".join(secrets.choice(sets[sys.argv[1]]) for _ in range(int(sys.argv[2]))), end="")' "$1" "$2"
}

# ---- one image per release -----------------------------------------------------
for suite in $suites; do
  read -r layout tag < <(cd - >/dev/null && base_image "$suite")
  case $suite in bullseye) py=3.9 ;; bookworm) py=3.11 ;; *) py=3.13 ;; esac
  mkdir -p "$suite"
  cp -r "$layout" "$suite/oci"
  (
  cd "$suite"
  umoci unpack --image "oci:$tag" bundle >/dev/null
  R=bundle/rootfs
  SITE=$R/usr/local/lib/python$py/dist-packages
  mkdir -p "$SITE"
  pip3 install --quiet --no-deps --no-compile --target "$SITE" ../wheels/*.whl
  # Debian's python3-jinja2: the egg-info its file list names (synthetic dpkg entry).
  EGG=usr/lib/python3/dist-packages/Jinja2-2.10.egg-info
  mkdir -p "$R/$EGG" "$R/var/lib/dpkg/info"
  printf 'Metadata-Version: 1.1\nName: Jinja2\nVersion: 2.10\n' > "$R/$EGG/PKG-INFO"
  printf 'Package: python3-jinja2\nStatus: install ok installed\nArchitecture: all\nSource: jinja2\nVersion: 2.10-2\n\n' >> "$R/var/lib/dpkg/status"
  printf '/.\n/usr\n/%s\n/%s/PKG-INFO\n' "$EGG" "$EGG" > "$R/var/lib/dpkg/info/python3-jinja2.list"
  # Debian's node-semver: the real .deb's files, its file list from the .deb.
  dpkg-deb -x ../debs/node-semver_*.deb "$R"
  printf 'Package: node-semver\nStatus: install ok installed\nArchitecture: all\nVersion: %s\n\n' \
    "$(dpkg-deb -f ../debs/node-semver_*.deb Version)" >> "$R/var/lib/dpkg/status"
  dpkg-deb -c ../debs/node-semver_*.deb | awk '{print $6}' | sed 's|^\./|/|; s|/$||; s|^$|/.|' \
    > "$R/var/lib/dpkg/info/node-semver.list"
  # npm's semver 7.3.5 in the application's node_modules.
  mkdir -p "$R/app/node_modules/semver" "$R/app/bin" "$R/opt/old"
  tar xzf ../semver-7.3.5.tgz -C "$R/app/node_modules/semver" --strip-components=1
  cp ../gohello "$R/app/bin/gohello"
  cp ../gohello "$R/opt/old/gohello"
  cp ../app.jar "$R/app/app.jar"
  cp ../log4j-core-2.14.1.jar "$R/opt/old/log4j-core-2.14.1.jar"
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
  mkdir -p "$R/root/.aws" "$SITE/widgets/tests"
  printf '[default]\naws_access_key_id = AKIA%s\naws_secret_access_key = %s\n' \
    "$(rand b32 16)" "$(rand b64 40)" > "$R/root/.aws/credentials"
  printf 'DATABASE_PASSWORD=%s\n' "$(rand alnum 24)" > "$R/app/.env"
  printf 'Set AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE as in the AWS documentation.\n' > "$R/app/README.md"
  printf '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n' > "$R/app/.npmrc"
  { printf -- '-----BEGIN RSA PRIVATE KEY-----\n'; rand b64 1600 | fold -w 64; printf '\n-----END RSA PRIVATE KEY-----\n'; } \
    > "$SITE/widgets/tests/server.key"
  umoci repack --refresh-bundle --image "oci:$tag" --history.created_by "pip install; COPY app/ opt/old/" bundle
  rm -rf "$SITE"/urllib3 "$SITE"/urllib3-1.24.1.dist-info "$R/root/.aws" "$R/opt/old"
  umoci repack --refresh-bundle --image "oci:$tag" --history.created_by "pip uninstall urllib3; rm -r /root/.aws /opt/old" bundle
  umoci config --image "oci:$tag" --config.env "GITHUB_TOKEN=ghp_$(rand alnum 36)"
  "$clearance" scan --no-layer-store --db "$work/a.db" --format json "oci:$work/$suite/oci:$tag" > ../scan-$suite.json
  rm -rf --one-file-system bundle
  )
done

python3 - $suites <<'PY'
import json, sys
versions = {"bullseye": "11", "bookworm": "12", "trixie": "13"}
tps = [("requests", "2.19.1", "PYSEC-2018-28"), ("requests", "2.19.1", "PYSEC-2023-74"),
       ("smallvec", "1.6.0", "RUSTSEC-2021-0003"), ("regex", "1.5.4", "RUSTSEC-2022-0013"),
       ("time", "0.1.43", "RUSTSEC-2020-0071"),
       ("stdlib", "1.19.8", "GO-2023-1751"), ("stdlib", "1.19.8", "GO-2023-1840"),
       ("golang.org/x/net", "v0.7.0", "GO-2023-1988"), ("golang.org/x/net", "v0.7.0", "GO-2023-2102"),
       ("semver", "7.3.5", "GHSA-c2qf-rxjj-qqgw"),
       ("org.apache.logging.log4j:log4j-core", "2.14.1", "GHSA-jfh8-c2jp-5v3q")]
trap_packages = {"idna", "hyper", "tokio", "urllib3", "jinja2"}
trap_ids = {"PYSEC-2014-13", "PYSEC-2014-14", "PYSEC-2015-17",
            "GO-2023-1571", "GO-2023-1702", "GO-2023-1703", "GO-2023-1704", "GO-2023-1705"}
# Paths where nothing may be found: deleted copies, Debian's own node-semver.
trap_paths = ("/opt/old/", "/usr/share/nodejs/")
all_hits = all_tps = all_fps = 0
ok = True
for suite in sys.argv[1:]:
    report = json.load(open(f"scan-{suite}.json"))
    print(f"== {suite}")
    distro = report.get("distro") or {}
    want = versions.get(suite)
    if want and (distro.get("id"), distro.get("version_id")) != ("debian", want):
        print(f"WRONG DISTRO: {distro.get('id')} {distro.get('version_id')} (want debian {want})")
        ok = False
    found = {(f["package"]["name"].lower() if f["package"]["type"] != "maven" else f["package"]["name"],
              f["package"]["version"], a, f["package"]["path"])
             for f in report["findings"] for a in [f["id"], *f["aliases"]]}
    keys = {(n, v, i) for (n, v, i, _) in found}
    hits = [t for t in tps if t in keys]
    fps = sorted({(n, v, i, p) for (n, v, i, p) in found
                  if n in trap_packages or i in trap_ids or p.startswith(trap_paths)})
    print(f"findings: {len(report['findings'])}, owned (matched through the OS package): {report['owned']}")
    for t in tps:
        print(("found  " if t in hits else "MISSED ") + " ".join(t))
    print(f"recall: {len(hits)}/{len(tps)} = {len(hits) / len(tps):.2f}")
    print(f"false positives on traps: {len(fps)}")
    for fp in fps:
        print("  FALSE POSITIVE " + " ".join(fp))
    all_hits += len(hits); all_tps += len(tps); all_fps += len(fps)

    secrets = report["secrets"]["findings"]
    def seen(path, deleted=None):
        return any(f["path"] == path and (deleted is None or (f["deleted_in"] is not None) == deleted)
                   for f in secrets)
    secret_tps = [("/root/.aws/credentials, deleted", seen("/root/.aws/credentials", True)),
                  ("/app/.env", seen("/app/.env")),
                  ("config:Env GITHUB_TOKEN", seen("config:Env"))]
    secret_traps = ["/app/README.md", "/app/.npmrc"] + sorted(
        {f["path"] for f in secrets if f["path"].endswith("/widgets/tests/server.key")})
    secret_fps = [p for p in secret_traps if seen(p)]
    for name, hit in secret_tps:
        print(("found  " if hit else "MISSED ") + "secret " + name)
    print(f"secrets recall: {sum(hit for _, hit in secret_tps)}/{len(secret_tps)}; "
          f"false positives on traps: {len(secret_fps)} {secret_fps}")
    masks_leak = [f["masked"] for f in secrets if len(f["masked"].rstrip("*")) > 4]
    if masks_leak:
        print(f"MASK SHOWS TOO MUCH: {masks_leak}")
    ok = ok and len(hits) == len(tps) and not fps and all(h for _, h in secret_tps) \
        and not secret_fps and not masks_leak
print(f"== all: recall {all_hits}/{all_tps} = {all_hits / max(all_tps, 1):.2f}, false positives on traps: {all_fps}")
sys.exit(0 if ok else 1)
PY
