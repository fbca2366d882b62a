#!/usr/bin/env bash
# The flagship benchmark: the Alpha Members dev deploy with pipectl
# (`pipectl apply -env dev` of pipelines/alpha-members.hcl: plan, then the
# pre-deploy checks in parallel, deploy, validate, post-deploy) against the
# same work done by a sequential script of the helm, trivy and kubectl CLIs
# (bench/flagship-script.sh), on the same sandbox, alternately, ROUNDS
# rounds (default 5), each deploy a fresh install in a namespace of its own.
# Target: pipectl takes at most 0.5x the script's wall time (issue 28).
#
#   make bench-flagship              # builds what it needs, then runs this
#   ROUNDS=10 WINDOW=10 bench/flagship.sh
#
# Both watch the pods for restarts for WINDOW seconds (default 10; the dev
# environment's own window is a minute). Not timed: starting the sandbox,
# the namespaces and their Secrets, a warm-up round of each (trivy's DB
# into each one's cache, the page cache).
#
# The pods run on the sandbox's real node (Linux and root; one per machine,
# so the benchmark waits its turn for it): each deploy pins its Service's
# ClusterIP, and the health checks and smoke tests reach the pods through
# it (kube-proxy), as make demo does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
rounds=${ROUNDS:-5}
window=${WINDOW:-10}
name=bench-flagship
for b in pipectl pipectl-plugin-helm pipectl-plugin-k8s pipectl-plugin-trivy pipectl-plugin-std pipectl-sandbox kubectl trivy trivy-dbfixture helm; do
  [[ -x $bin/$b ]] || { echo "bin/$b is missing: run make bench-flagship (or make build bin/helm)" >&2; exit 1; }
done
export PATH=$bin:$PATH PIPECTL_PLUGIN_PATH=$bin NO_COLOR=1
work=$(mktemp -d)

cleanup() {
  "$bin/pipectl-sandbox" down --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== sandbox, the platform team's part (not timed)"
"$bin/pipectl-sandbox" down --name "$name" >/dev/null 2>&1 || true
"$bin/pipectl-sandbox" up --name "$name" --quiet --nodes 2 --node-cpu 16 --node-memory 32Gi --real-node=on --real-node-wait=30m
eval "$("$bin/pipectl-sandbox" env --name "$name")"
registry=$PIPECTL_SANDBOX_REGISTRY
kubectl apply -f "$root/pipelines/cluster/prometheusrules.crd.yaml" >/dev/null
"$bin/trivy-dbfixture" -push "$registry/trivy-db:2" >/dev/null
kubectl wait --for=condition=Established crd/prometheusrules.monitoring.coreos.com >/dev/null

# Each deploy's Service address (the Nth), in the Service range's static band.
service_ip() { echo "10.96.0.$((100 + $1))"; }

namespace() {
  kubectl create namespace "$1" >/dev/null
  for s in alpha-members-db alpha-members-jwt alpha-members-smtp; do
    kubectl -n "$1" create secret generic "$s" --from-literal=value="bench-$s" >/dev/null
  done
}

# pipectl: its own copy of pipelines/ (run records, trivy cache), locked once.
cp -r "$root/pipelines" "$work/pipelines"
rm -rf "$work/pipelines/.pipectl" "$work/pipelines/.pipectl.lock.hcl"
(cd "$work/pipelines" && pipectl init -upgrade >/dev/null)
run_pipectl() {
  (cd "$work/pipelines" && pipectl apply -env dev -auto-approve -no-color \
    -var image_tag=1.0.0 -var "image_repository=$registry/alpha-members" -var "kubeconfig=$KUBECONFIG" \
    -var registry_plain_http=true -var "trivy_db_repository=$registry/trivy-db:2" -var "service_ip=$2" \
    -var "namespace=$1" -var "monitor_window=${window}s") > "$work/pipectl-$1.log" 2>&1 ||
    { echo "pipectl failed, see its output:" >&2; tail -40 "$work/pipectl-$1.log" >&2; exit 1; }
}

# The script: trivy's DB into its cache once, as the plugin keeps its own.
mkdir -p "$work/script"
trivy image --download-db-only --db-repository "$registry/trivy-db:2" --cache-dir "$work/script/trivy-cache" \
  --no-progress --quiet --skip-version-check --disable-telemetry
run_script() {
  "$root/bench/flagship-script.sh" "$1" "$registry" "$2" "$work/script" "$window" > "$work/script-$1.log" 2>&1 ||
    { echo "the script failed, see its output:" >&2; tail -40 "$work/script-$1.log" >&2; exit 1; }
}

now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@"; echo "$(now) - $t0" | bc; }

echo "== warm-up (not timed)"
# A round's namespaces go once it is done (not timed): the real node's
# CPU is the machine's.
gone() { kubectl delete namespace "$@" --wait=true >/dev/null; }
namespace warm-p && run_pipectl warm-p "$(service_ip 1)"
namespace warm-s && run_script warm-s "$(service_ip 2)"
gone warm-p warm-s

echo "== $rounds rounds, alternately (seconds)"
p_all=() s_all=()
for i in $(seq 1 "$rounds"); do
  namespace "p-$i" && namespace "s-$i"
  pip=$(service_ip $((2 * i + 1))) sip=$(service_ip $((2 * i + 2)))
  if (( i % 2 )); then
    p=$(timed run_pipectl "p-$i" "$pip"); s=$(timed run_script "s-$i" "$sip")
  else
    s=$(timed run_script "s-$i" "$sip"); p=$(timed run_pipectl "p-$i" "$pip")
  fi
  gone "p-$i" "s-$i"
  p_all+=("$p") s_all+=("$s")
  printf 'round %d: pipectl %6.2f   script %6.2f   ratio %.2f\n' "$i" "$p" "$s" "$(echo "$p / $s" | bc -l)"
done

echo
echo "== where pipectl's last round went (its run record)"
(cd "$work/pipelines" && pipectl runs show latest | sed -n '/STEP/,/^$/p')

mean() { local n=0 sum=0; for x in "$@"; do sum=$(echo "$sum + $x" | bc -l); n=$((n + 1)); done; echo "$sum / $n" | bc -l; }
pm=$(mean "${p_all[@]}") sm=$(mean "${s_all[@]}")
printf '\nmean: pipectl %.2f s, script %.2f s: pipectl takes %.2fx the script'"'"'s time (target <= 0.5x)\n' "$pm" "$sm" "$(echo "$pm / $sm" | bc -l)"
printf 'without the %d s restart window both wait: pipectl %.2f s, script %.2f s: %.2fx\n' "$window" \
  "$(echo "$pm - $window" | bc -l)" "$(echo "$sm - $window" | bc -l)" "$(echo "($pm - $window) / ($sm - $window)" | bc -l)"
