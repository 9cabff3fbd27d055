#!/usr/bin/env bash
# bench-admission.sh — the admission webhook's decision latency (issue 10,
# point 7), on loopback, beside Kyverno's published figures:
#
#   - first decision on an image: trust verification (file:// TUF
#     repository), the registry's manifest and config, the scan from the
#     stored layer inventories, the policy;
#   - decisions with cached evidence at 16 concurrent clients (16
#     processes, one keep-alive HTTPS connection each): p50, p99, req/s.
#
# Kyverno's scaling documentation: 37.7 ms average admission latency with
# the 17 Pod Security policies; p99 182 ms with 16 CEL policies at 50
# virtual users. The clients here are Python, whose own TLS and JSON time
# is inside every figure: they are upper bounds on the webhook's.
#
# Needs umoci, skopeo, docker-registry, openssl, python3 (scripts/install-test-deps.sh).
# Usage: scripts/bench-admission.sh [REQUESTS]   (default 4000)
#        CLEARANCE=path/to/clearance (default target/release/clearance)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-4000}
bin=$(realpath "${CLEARANCE:-target/release/clearance}")
[ -x "$bin" ] || { echo "bench-admission: $bin missing: cargo build --release" >&2; exit 2; }
for c in umoci skopeo docker-registry openssl python3 curl; do
  command -v "$c" >/dev/null || { echo "bench-admission: $c is missing (scripts/install-test-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/clearance-bench-admission.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export CLEARANCE_HOME=$work/home NO_COLOR=1
for r in ROOT TARGETS SNAPSHOT TIMESTAMP; do export "CLEARANCE_PASSPHRASE_$r=bench passphrase"; done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# An image: a Debian os-release, requests 2.19.1 from PyPI, uid 10001.
(
  cd "$work"; umask 022
  umoci init --layout oci >/dev/null
  umoci new --image oci:app
  umoci config --image oci:app --config.user 10001 --no-history
  umoci unpack --image oci:app bundle >/dev/null
  d=bundle/rootfs/usr/local/lib/python3.11/dist-packages/requests-2.19.1.dist-info
  mkdir -p bundle/rootfs/etc "$d"
  printf 'ID=debian\nVERSION_ID="12"\n' > bundle/rootfs/etc/os-release
  printf 'Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n' > "$d/METADATA"
  umoci repack --refresh-bundle --image oci:app bundle >/dev/null
)

port=$(free_port)
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry" "$port" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
image=127.0.0.1:$port/team/app
skopeo copy --quiet --dest-tls-verify=false "oci:$work/oci:app" "docker://$image:v1"

export CLEARANCE_TRUST_SERVER=file://$work/trust
"$bin" trust init "$image" >/dev/null
"$bin" trust sign "$image:v1" >/dev/null

mkdir -p "$work/osv"
python3 - "$work/osv" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
json.dump({"schema_version": "1.6.0", "id": "PYSEC-2099-1", "modified": now,
           "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]}]},
          open(sys.argv[1] + "/PYSEC-2099-1.json", "w"))
PY
export CLEARANCE_DB=$work/db/advisories.db CLEARANCE_DECISION_LOG=${BENCH_DECISION_LOG:-$work/decisions.jsonl}
"$bin" db build --source "$work/osv" >/dev/null
cat > "$work/policy.yaml" <<'YAML'
version: 1
environments:
  production:
    trust:
      roles: [targets]
    contents:
      known_exploited: deny
      secrets: deny
      database_max_age_days: 2
    runtime:
      user: non-root
      privileged: deny
      host_namespaces: deny
YAML
export CLEARANCE_POLICY=$work/policy.yaml

# The layer inventories are stored (as after a CI scan of the image).
"$bin" check "$image:v1" --env production --trust-on-first-use >/dev/null

(
  cd "$work"
  openssl req -x509 -days 1 -subj /CN=bench-ca -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -subj /CN=localhost -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out leaf.pem -extfile leaf.ext 2>/dev/null
)
"$bin" serve --admission --listen 127.0.0.1:0 --print-address --tls-cert "$work/leaf.pem" --tls-key "$work/leaf.key" \
  --default-env production > "$work/serve.out" 2> "$work/serve.err" & pids+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$work/serve.out")
[ -n "$addr" ] || { cat "$work/serve.err" >&2; exit 1; }

python3 - "$addr" "$work/ca.pem" "$image:v1" "$requests" <<'PY'
import http.client, json, multiprocessing, ssl, statistics, sys, time

addr, ca, image, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port = addr.rsplit(":", 1)
clients = 16

def review(uid):
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "name": "web", "namespace": "default", "operation": "CREATE",
                    "userInfo": {"username": "bench"},
                    "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                               "spec": {"containers": [{"name": "app", "image": image}]}}}}).encode()

def connect():
    ctx = ssl.create_default_context(cafile=ca)
    return http.client.HTTPSConnection(host, int(port), context=ctx)

def post(conn, uid):
    t = time.perf_counter()
    conn.request("POST", "/validate", body=review(uid), headers={"Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    took = time.perf_counter() - t
    assert answer["response"]["uid"] == uid, answer
    assert answer["response"]["allowed"] is True, answer
    return took

def worker(args):
    index, n = args
    conn = connect()
    post(conn, f"warm-{index}")  # the TLS handshake is not a decision
    return [post(conn, f"{index}-{i}") for i in range(n)]

conn = connect()
conn.connect()
first = post(conn, "first")
per = total // clients
start = time.perf_counter()
with multiprocessing.Pool(clients) as pool:
    times = [t for part in pool.map(worker, [(i, per) for i in range(clients)]) for t in part]
wall = time.perf_counter() - start
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000
mean = statistics.mean(times) * 1000
print(f"first decision (trust verify + stored-inventory scan + policy): {first * 1000:.1f} ms   target < 150 ms")
print(f"cached, {clients} concurrent clients, {len(times)} decisions: mean {mean:.2f} ms, p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, {len(times) / wall:.0f} decisions/s   target p99 < 5 ms")
print(f"Kyverno (published): mean 37.7 ms (17 Pod Security policies); p99 182 ms (16 CEL policies, 50 VUs)")
print(f"ratio: Kyverno mean / this mean = {37.7 / mean:.1f}x; Kyverno p99 / this p99 = {182 / p(0.99):.1f}x")
PY
