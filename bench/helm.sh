#!/usr/bin/env bash
# The helm plugin's upgrade of podinfo against `helm upgrade --install
# --wait --atomic` of the same chart on the same sandbox, alternately,
# ROUNDS rounds (default 10), each CLI upgrade followed by `kubectl rollout
# status` (timed apart). Target: the plugin takes at most half the CLI's
# time (Helm 3's CLI polls readiness every 2 s; the plugin watches). The
# plugin waits as rollout status does (new pods available); Helm 3's --wait
# accepts podinfo's Deployment with no new pod Ready (maxUnavailable 1 of 1
# replica), so plugin/cli+rollout compares the same work.
#
#   bench/helm.sh                    # needs make build and bin/helm (make bin/helm)
#   ROUNDS=20 bench/helm.sh
#   NODE=kwok bench/helm.sh          # on kwok's simulated pods instead
#
# The pods run on the sandbox's real node by default (Linux and root; one
# per machine, so the benchmark waits its turn for it): each upgrade
# changes a value, so each is a rollout of a real container. The helm CLI
# is bin/helm, built for the comparison only from bench/tools at the
# version the plugin links (mk/flagship.mk), never shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOWORK=off GOFLAGS=-buildvcs=false
[[ -x bin/helm && -x bin/kubectl && -x bin/pipectl-sandbox ]] || { echo "bin/helm, bin/kubectl or bin/pipectl-sandbox is missing: make build bin/helm" >&2; exit 1; }
bin/helm version --short
case ${NODE:-real} in
  real) export HELM_BENCH_REAL_NODE=1 ;;
  kwok) export HELM_BENCH_REAL_NODE=0 ;;
  *) echo "NODE is real or kwok, not $NODE" >&2; exit 1 ;;
esac
echo "== helm plugin upgrade vs helm upgrade --install --wait (podinfo, ${NODE:-real} pods), alternately; load: $(cut -d' ' -f1-3 /proc/loadavg)"
cd plugins/helm
HELM_BIN="$PWD/../../bin/helm" KUBECTL_BIN="$PWD/../../bin/kubectl" PIPECTL_SANDBOX_BIN="$PWD/../../bin/pipectl-sandbox" \
  go test -run '^$' -bench BenchmarkUpgradePodinfo -benchtime "${ROUNDS:-10}x" -count 1 -v . \
  | grep -E '^(Benchmark|ok|FAIL|\s+bench_test.go)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
