#!/usr/bin/env bash
# Runs pipectl's benchmarks and prints their numbers. Anyone can run it:
#   bench/run.sh            # everything
#   bench/run.sh engine     # one group: dsl, engine, plugins, k8s
# Targets (see docs/architecture.md): validate 10,000 steps < 1 s and
# < 200 MB; < 1 ms of engine overhead per step; wall time within 5% of the
# critical path; plugin launch + handshake < 100 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-buildvcs=false
what=${1:-all}

run() { echo "== $1"; shift; go test -run '^$' "$@" | grep -E '^(Benchmark|ok|FAIL)' ; }

if [[ $what == all || $what == dsl ]]; then
  run "language: Load + Bind + decode of generated pipelines" -bench 'LoadBindDecode|PeakMemory' -benchmem ./dsl
  run "validate: Load + Bind + step graph (cycle search included)" -bench 'BenchmarkLoad$' -benchmem ./engine
fi
if [[ $what == all || $what == engine ]]; then
  run "engine: 1,000 noop steps (per-step cost incl. the plugin round trip)" -bench ApplyNoop1000 -benchtime 5x ./engine
  run "engine: sleep DAG against its 900 ms critical path" -bench CriticalPath -benchtime 5x ./engine
  run "engine: DAG sort and cycle search, 10,000 nodes" -bench . -benchmem ./engine/dag
fi
if [[ $what == all || $what == plugins ]]; then
  run "plugins: launch + handshake + GetSchema + Close of a plugin, unlocked and checked against its lock checksum" -bench Launch -benchtime 20x ./sdk/client
  run "plugins: a step's config encoded for the wire (each Plan and Apply call)" -bench EncodeValue -benchmem ./sdk/internal/wire
  run "plugins: a step's config and outputs conformed to the action's schema (each Plan and Apply call)" -bench Conform -benchmem ./sdk
fi
if [[ $what == all || $what == k8s ]]; then
  # Against the sandbox (bin/pipectl-sandbox; `make sandbox`).
  (cd plugins/k8s && GOWORK=off run "k8s: rollout_status of a 2-replica Deployment from create; check_access with 14 pairs" -bench . -benchtime 20x .)
fi
