#!/usr/bin/env bash
# The kubernetes state backend against the local one, on a sandbox of its
# own (bin/pipectl-sandbox, kwok nodes only): one apply of 1,000 no-op steps
# with each backend (wall time per step, and the API server's count of
# Secret and Lease requests), 20 applies of 20 pipelines at once through
# one namespace (all recorded, none lost), and the pruning every apply starts
# with, 100 runs of 1,000 steps kept. See bench/README.md.
#
#   bench/kube-backend.sh [COUNT]     # COUNT rounds of each (default 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PIPECTL_SANDBOX_BIN=${PIPECTL_SANDBOX_BIN:-$root/bin/pipectl-sandbox}
GOWORK=off go test -count=1 -run '^$' -bench 'BenchmarkApply1kSteps|BenchmarkConcurrentApplies|BenchmarkPruneKeeping100Runs' \
  -benchtime "${1:-1}x" -timeout 30m ./record/kubernetes/
