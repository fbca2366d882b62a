#!/usr/bin/env bash
# The helm plugin's upgrade of podinfo against `helm upgrade --install
# --wait --atomic` of the same chart on the same sandbox, alternately,
# ROUNDS rounds (default 10). Target: the plugin takes at most half the
# CLI's time (Helm 3's CLI polls readiness every 2 s; the plugin watches).
#
#   bench/helm.sh                    # needs the sandbox binary (make sandbox)
#   ROUNDS=20 bench/helm.sh
#
# The helm CLI is built for the comparison only, into a temporary
# directory: helm.sh/helm/v3/cmd/helm at v3.22.0 from the Go module proxy,
# resolved with the plugin's own module graph (a temporary copy of its
# go.mod), so it shares the plugin's Kubernetes libraries (v0.37.2, helm
# v3.22.0 itself pins v0.37.0) and their build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOWORK=off GOFLAGS=-buildvcs=false
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp plugins/helm/go.mod "$tmp/go.mod"
cp plugins/helm/go.sum "$tmp/go.sum"
echo "== building the helm CLI v3.22.0 (comparison only) into $tmp"
(cd plugins/helm && go build -modfile="$tmp/go.mod" -mod=mod -o "$tmp/helm" helm.sh/helm/v3/cmd/helm)
"$tmp/helm" version --short

echo "== helm plugin upgrade vs helm upgrade --install --wait (podinfo), alternately"
cd plugins/helm
HELM_BIN="$tmp/helm" go test -run '^$' -bench BenchmarkUpgradePodinfo -benchtime "${ROUNDS:-10}x" -count 1 -v . \
  | grep -E '^(Benchmark|ok|FAIL|\s+bench_test.go)'
