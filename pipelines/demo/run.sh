#!/usr/bin/env bash
# The main job: the Alpha Members pipeline, planned then applied for real
# against a local sandbox that this script starts (and stops, unless
# KEEP=1). `make demo` builds everything first and runs it.
#
#   pipelines/demo/run.sh            # dev
#   DEMO_ENV=staging pipelines/demo/run.sh
#   KEEP=1 pipelines/demo/run.sh     # leave the sandbox running to explore
#   DEMO_REAL_NODE_WAIT=10m          # wait that long for another sandbox to release the real node
#   DEMO_NAME=NAME                   # the sandbox's name (default demo; test/flagship/demo sets one)
#   DEMO_SANDBOX_DIR=DIR             # deploy on the running sandbox in DIR instead (make test's shared
#                                    # real-node sandbox); it is neither started nor stopped
#
# What it sets up is what a platform team has in place before the pipeline
# runs: a cluster, the platform's Secrets, the Prometheus Operator's CRD,
# a registry holding the image and a mirror of the trivy DB. On the
# sandbox's real node (Linux, root) the platform's pods run, and the health
# checks and smoke tests reach them through the cluster: the release's
# Service, pinned to a ClusterIP that kube-proxy answers from this machine.
# Where no real node can run (not Linux, not root, or another sandbox has
# it) the demo stops with the reason: kwok's fake nodes run no container,
# so nothing would answer the checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/bin
env=${DEMO_ENV:-dev}
tag=${DEMO_TAG:-1.0.0}
name=${DEMO_NAME:-demo}
state=$root/.pipectl/$name
where=(--name "$name")
[[ -n ${DEMO_SANDBOX_DIR:-} ]] && where=(--dir "$DEMO_SANDBOX_DIR")
export PATH=$bin:$PATH PIPECTL_PLUGIN_PATH=$bin

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
  if [[ ${KEEP:-} == 1 || -n ${DEMO_SANDBOX_DIR:-} ]]; then
    say "kept running: eval \"\$(bin/pipectl-sandbox env ${where[*]})\"; stop with: bin/pipectl-sandbox down ${where[*]}"
  else
    "$bin/pipectl-sandbox" down "${where[@]}" >/dev/null 2>&1 || true
  fi
}

if [[ -z ${DEMO_SANDBOX_DIR:-} ]]; then
  say "starting the sandbox (Kubernetes API server, the real node, fake nodes, OCI registry)"
  "$bin/pipectl-sandbox" down "${where[@]}" >/dev/null 2>&1 || true
  # prod's capacity check counts 20 pods of 500m: the fake nodes' capacity.
  "$bin/pipectl-sandbox" up "${where[@]}" --nodes 2 --node-cpu 8 --node-memory 16Gi --real-node=on \
    --real-node-wait="${DEMO_REAL_NODE_WAIT:-0s}"
fi
trap cleanup EXIT
eval "$("$bin/pipectl-sandbox" env "${where[@]}")"
registry=$PIPECTL_SANDBOX_REGISTRY
ns=$(case $env in dev) echo development;; staging) echo staging;; prod) echo production;; esac)
# The release's Service address, fixed so that the checks can name it
# before the deploy (in the sandbox's Service range, its static band).
service_ip=10.96.0.80
if ! kubectl get node sandbox-real-node >/dev/null 2>&1; then
  echo "the sandbox (${where[*]}) has no real node: the platform's pods would run no container. Start one with: bin/pipectl-sandbox up --real-node=on" >&2
  exit 1
fi

say "what the platform team provides: the namespace, its Secrets, the alert rules' CRD, the trivy DB mirror"
kubectl apply -f "$root/pipelines/cluster/prometheusrules.crd.yaml"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
for s in alpha-members-db alpha-members-jwt alpha-members-smtp; do
  kubectl -n "$ns" create secret generic "$s" --from-literal=value="demo-$s-$RANDOM" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
"$bin/trivy-dbfixture" -push "$registry/trivy-db:2"

say "the platform runs on the real node: health checks and smoke tests reach its Service, http://$service_ip"
base_url=http://$service_ip

mkdir -p "$state"
cat > "$state/demo.vars" <<VARS
image_tag           = "$tag"
image_repository    = "$registry/alpha-members"
kubeconfig          = "$KUBECONFIG"
registry_plain_http = true
trivy_db_repository = "$registry/trivy-db:2"
service_ip          = "$service_ip"
VARS

cd "$root/pipelines"
say "pipectl init (-upgrade: lock the plugins make just built)"
pipectl init -upgrade
say "pipectl plan -env $env"
pipectl plan -env "$env" -var-file "$state/demo.vars"
if [[ $env == prod ]]; then
  # Prod's deploy waits for a second person's approval (four eyes): play
  # the release manager from "another terminal" once the run waits.
  (
    until id=$(pipectl runs 2>/dev/null | awk '/waiting for approval/ {print $1; exit}') && [[ -n $id ]]; do sleep 1; done
    say "release-manager: pipectl approve $id -yes"
    PIPECTL_USER=release-manager pipectl approve "$id" -yes -reason "demo: approved by a second person"
  ) &
fi
say "pipectl apply -env $env"
pipectl apply -env "$env" -var-file "$state/demo.vars" -auto-approve -report "$state/report.html"
say "the release in the cluster"
kubectl -n "$ns" get deployments,services,ingresses,prometheusrules -l app.kubernetes.io/instance=alpha-members
say "which pod answers: $base_url/healthz through the Service"
health=$(curl -fsS "$base_url/healthz")
echo "$health"
pod=$(sed -n 's/.*"pod":"\([^"]*\)".*/\1/p' <<<"$health")
kubectl -n "$ns" get pod "$pod" -o wide
say "re-planning right after the deploy: the release has no changes"
pipectl plan -env "$env" -var-file "$state/demo.vars" | grep -E "release|Plan:" || true
say "the run is recorded: pipectl runs"
pipectl runs
say "the run's report, one self-contained HTML file: $state/report.html"
