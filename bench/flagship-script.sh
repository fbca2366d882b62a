#!/usr/bin/env bash
# The Alpha Members dev deploy as a sequential shell script of the helm,
# trivy and kubectl CLIs: the same work as `pipectl apply -env dev` of
# pipelines/alpha-members.hcl, one command after the other, the way such
# pipelines are usually scripted. bench/flagship.sh times it against pipectl.
#
#   bench/flagship-script.sh NAMESPACE REGISTRY SERVICE_IP WORK_DIR WINDOW_SECONDS
#
# SERVICE_IP is the ClusterIP the release's Service is given: the health
# check and smoke tests reach the pods through it.
#
# KUBECONFIG points at the cluster; helm, trivy and kubectl are on PATH;
# trivy's DB is already in WORK_DIR/trivy-cache (bench/flagship.sh puts it
# there once, as the plugin keeps its own).
set -euo pipefail
ns=$1 registry=$2 service_ip=$3 work=$4 window=$5
base_url=http://$service_ip
root=$(cd "$(dirname "$0")/.." && pwd)
chart=$root/pipelines/alpha-members
release=alpha-members
tag=1.0.0
image=$registry/alpha-members:$tag
selector=app.kubernetes.io/instance=$release
cache=$work/trivy-cache
trivy_flags=(--cache-dir "$cache" --skip-version-check --disable-telemetry --quiet)
mkdir -p "$work/out"
out=$work/out

fail() { echo "FAILED: $*" >&2; exit 1; }

# The pipeline's overrides of the environment's values (select values).
cat > "$out/values.yaml" <<VALUES
image: { repository: $registry/alpha-members, tag: "$tag" }
replicaCount: 1
autoscaling: { enabled: false, minReplicas: 1, maxReplicas: 1 }
resources:
  requests: { cpu: 100m, memory: 128Mi }
  limits: { cpu: 250m, memory: 256Mi }
service: { clusterIP: "$service_ip" }
ingress:
  enabled: true
  hosts: [{ host: dev.members.example.com, paths: [{ path: /, pathType: Prefix }] }]
secrets:
  vaultPath: secret/data/alpha-members/dev
  names: [alpha-members-db, alpha-members-jwt, alpha-members-smtp]
VALUES
values=(-f "$chart/values/dev.yaml" -f "$out/values.yaml")

# ---- pre-deploy
helm lint --strict "$chart" "${values[@]}" >/dev/null
helm template "$release" "$chart" "${values[@]}" >/dev/null # values.schema.json
kubectl -n "$ns" get secret alpha-members-db alpha-members-jwt alpha-members-smtp >/dev/null
kubectl version >/dev/null
# Cluster access: one call lists what the identity may do in the namespace
# (cheaper than one `auth can-i` per verb); every needed verb must be there.
access=$(kubectl -n "$ns" auth can-i --list)
for rv in deployments.apps:get,list,create,update,patch services:get,create,update secrets:get,list,create,update pods:get,list,watch; do
  line=$(grep -E "^(${rv%%:*}|\*\.\*) " <<<"$access" | head -1) || fail "no access to ${rv%%:*}"
  for v in $(tr , ' ' <<<"${rv#*:}"); do
    [[ $line == *"[*]"* || $line =~ [[:space:]\[]$v[[:space:]\]] ]] || fail "may not $v ${rv%%:*}"
  done
done
trivy image "${trivy_flags[@]}" --no-progress --skip-db-update --skip-java-db-update --offline-scan --image-src remote \
  --scanners vuln --severity CRITICAL,HIGH --ignore-unfixed --exit-code 1 "$image" >/dev/null
trivy config "${trivy_flags[@]}" --skip-check-update --helm-values "$chart/values/dev.yaml" --helm-values "$out/values.yaml" \
  --severity CRITICAL,HIGH --exit-code 1 "$chart" >/dev/null
trivy fs "${trivy_flags[@]}" --no-progress --skip-db-update --offline-scan --scanners secret --exit-code 1 "$chart" >/dev/null
# Resource availability: what the nodes have and what every pod requests.
kubectl get nodes -o json >/dev/null
kubectl get pods -A -o json >/dev/null
kubectl -n "$ns" get resourcequotas,limitranges -o json >/dev/null

# ---- deploy
helm template "$release" "$chart" -n "$ns" "${values[@]}" --validate >/dev/null
helm upgrade --install "$release" "$chart" -n "$ns" "${values[@]}" --atomic --wait --create-namespace --timeout 5m >/dev/null
kubectl -n "$ns" rollout status deployment/"$release" --timeout 5m >/dev/null
helm status "$release" -n "$ns" >/dev/null
helm history "$release" -n "$ns" --max 5 >/dev/null

# ---- validate
kubectl -n "$ns" wait --for=condition=Ready pod -l "$selector" --timeout 5m >/dev/null
helm test "$release" -n "$ns" --timeout 5m >/dev/null
for _ in $(seq 1 60); do
  n=$(kubectl -n "$ns" get endpointslices -l kubernetes.io/service-name="$release" -o jsonpath='{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}' | wc -w)
  [[ $n -ge 1 ]] && break
  sleep 1
done
[[ $n -ge 1 ]] || fail "no ready endpoint"
curl -fsS --retry 5 --retry-delay 2 -o /dev/null "$base_url/healthz"
for check in "/:200" "/api/v1/auth/status:200" "/api/v1/members?limit=1:401"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base_url${check%:*}")
  [[ $code == "${check##*:}" ]] || fail "smoke ${check%:*}: HTTP $code"
done

# ---- post-deploy
helm get manifest "$release" -n "$ns" > "$out/deployed.yaml"
mkdir -p "$out/deployed" && mv "$out/deployed.yaml" "$out/deployed/"
trivy config "${trivy_flags[@]}" --skip-check-update --severity CRITICAL,HIGH --exit-code 1 "$out/deployed" >/dev/null
# Pod Security: a server-side dry run of the restricted label warns about pods that break it.
warn=$(kubectl label --dry-run=server --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=restricted 2>&1 >/dev/null || true)
[[ -z $warn ]] || fail "pod security: $warn"
revision=$(helm status "$release" -n "$ns" -o json | sed -n 's/.*"version":\([0-9]*\).*/\1/p')
sed -e "s|{{ .version }}|$tag|; s|{{ .environment }}|dev|; s|{{ .image }}|$image|; s|{{ .revision }}|$revision|; s|{{ .url }}|$base_url|" \
  "$chart/docs/release-notes.md.tpl" > "$out/release-notes.md"
sed -e "s|{{ .environment }}|dev|g; s|{{ .namespace }}|$ns|g; s|{{ .release }}|$release|g; s|{{ .revision }}|$revision|g" \
  "$chart/docs/deployment.md.tpl" > "$out/DEPLOYMENT.md"
kubectl -n "$ns" get prometheusrule "$release" >/dev/null
# No restarts in the window.
before=$(kubectl -n "$ns" get pods -l "$selector" -o jsonpath='{..restartCount}')
sleep "$window"
after=$(kubectl -n "$ns" get pods -l "$selector" -o jsonpath='{..restartCount}')
[[ $before == "$after" ]] || fail "pods restarted: $before -> $after"
echo "{\"environment\":\"dev\",\"image\":\"$image\",\"namespace\":\"$ns\",\"revision\":$revision}" > "$out/summary.json"
