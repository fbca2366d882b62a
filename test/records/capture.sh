#!/usr/bin/env bash
# Captures what a pipectl of another commit wrote and printed, as fixtures
# for the compatibility tests beside this script (records_test.go):
#
#   test/records/capture.sh COMMIT OUTDIR [PIPELINE...]
#
# It checks COMMIT out in a temporary git worktree, builds pipectl and its
# plugins there (make), and runs every pipeline of test/records/pipelines, or
# the ones named ("flagship" is pipelines/alpha-members.hcl), with them. For
# each pipeline, OUTDIR/NAME/ gets:
#
#   store/           the pipeline's directory after the runs: pipeline.hcl, the
#                    plugin lock file, .pipectl/ (the run database, gzipped:
#                    runs.db.gz; artifacts)
#   plan.saved       a plan saved with plan -out, never applied
#   golden/L.out     stdout of command L, golden/L.err its stderr,
#   commands.txt     "L<TAB>exit status<TAB>arguments" for every command, in order
#   run-ids.txt      "RUN1 <id>": the runs in the order they were applied
#   capture.txt      which commit, where the pipeline ran and where the
#                    binaries were (what the tests normalise away)
#
# The fixtures are only ever written by this script run against the old
# commit: never by new code.
#
# The flagship needs a sandbox (started and stopped here) and trivy, which is
# not rebuilt (about 20 CPU minutes; its pin is the same across these
# commits): $PIPECTL_TRIVY_BIN, else the repository's bin/trivy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -ge 2 ]] || { echo "usage: $0 COMMIT OUTDIR [PIPELINE...]" >&2; exit 2; }
commit=$(git -C "$root" rev-parse --verify "$1^{commit}")
out=$(mkdir -p "$2" && cd "$2" && pwd)
shift 2
pipelines=("$@")
[[ ${#pipelines[@]} -gt 0 ]] || pipelines=($(cd "$here/pipelines" && ls))

tmp=$(mktemp -d /tmp/pipectl-capture.XXXXXX)
# The checkout at a path of its own, the same every time: Go's build cache
# keys the packages of the main module by their directory.
src=/tmp/pipectl-capture-src-${commit:0:12}
git -C "$root" worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
cleanup() {
  git -C "$root" worktree remove --force "$src" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

say() { printf '==> %s\n' "$*" >&2; }

say "building pipectl and its plugins at ${commit:0:7} in $src"
git -C "$root" worktree add --detach --quiet "$src" "$commit"
targets=(bin/pipectl bin/pipectl-plugin-std)
if [[ " ${pipelines[*]} " == *" flagship "* ]]; then
  targets+=(bin/pipectl-plugin-helm bin/pipectl-plugin-k8s bin/pipectl-plugin-trivy bin/alpha-members bin/trivy-dbfixture bin/pipectl-sandbox)
fi
make -C "$src" --no-print-directory "${targets[@]}" >&2
bin=$src/bin
export PATH=$bin:$PATH PIPECTL_PLUGIN_PATH=$bin NO_COLOR=1 PIPECTL_USER=capture TZ=UTC


# pipectl LABEL ARGS... runs the old pipectl in the pipeline's directory $w,
# its output into golden/LABEL.out and .err, and notes the command.
pipectl() {
  local label=$1 code=0
  shift
  (cd "$w" && command pipectl "$@") >"$o/golden/$label.out" 2>"$o/golden/$label.err" || code=$?
  printf '%s\t%s\t%s\n' "$label" "$code" "$*" >>"$o/commands.txt"
}

# capture NAME PLAN-FLAGS APPLY-FLAGS: the commands of every pipeline (the
# flags: words, split; apply takes the plan's flags too). The pipeline is in
# $w already when $w is set (the flagship); the reading commands show the
# run $show (default RUN1).
capture() {
  local name=$1 plan apply
  read -ra plan <<<"$2"
  read -ra apply <<<"$3"
  apply=("${plan[@]}" "${apply[@]}")
  o=$out/$name
  say "capturing $name"
  rm -rf "$o" && mkdir -p "$o/golden"
  printf 'commit %s\nworkdir %s\nbindir %s\n' "$commit" "$tmp/work/$name" "$bin" >"$o/capture.txt"
  if [[ -z ${w:-} ]]; then
    w=$tmp/work/$name
    mkdir -p "$w"
    cp -R "$here/pipelines/$name/." "$w/"
  fi
  pipectl init init
  pipectl validate validate "${plan[@]}"
  pipectl validate-json validate -json "${plan[@]}"
  pipectl plan plan "${plan[@]}"
  pipectl plan-json plan -json "${plan[@]}"
  pipectl plan-out plan -out plan.saved "${plan[@]}"
  mv "$w/plan.saved" "$o/plan.saved"
  ${before_apply:-}
  pipectl apply apply -auto-approve "${apply[@]}"
  pipectl apply-json apply -auto-approve -json "${apply[@]}"
  # The runs, oldest first, from the record itself.
  command pipectl runs "$w" -json | jq -r 'select(.type == "run") | .id' | tac | awk '{printf "RUN%d %s\n", NR, $1}' >"$o/run-ids.txt"
  local run1 show=${show:-RUN1}
  run1=$(awk -v r="$show" '$1 == r {print $2}' "$o/run-ids.txt")
  pipectl runs runs
  pipectl runs-json runs -json
  pipectl show runs show "$run1"
  pipectl show-json runs show "$run1" -json
  pipectl show-logs runs show "$run1" -logs
  pipectl logs runs logs "$run1"
  pipectl artifacts runs artifacts "$run1"
  pipectl report runs report "$run1" -o report.html
  mv "$w/report.html" "$o/golden/report.html"
  # Run ids in the commands, as the tests substitute them back.
  sed -i "s/$run1/\$$show/g" "$o/commands.txt"
  cp -R "$w" "$o/store"
  # The run database, gzipped: bbolt's file is mostly free pages, and no
  # file of the repository is over 1 MiB (the tests unzip it as they copy).
  gzip -n -9 "$o/store/.pipectl/runs.db"
  unset w
}

# The flagship, pipelines/alpha-members.hcl of the old commit, in staging
# against a sandbox of the old commit (kwok's fake nodes; a local stand-in
# of the service answers the checks): a first deploy that succeeds, then
# (before_apply: first_deploy) an upgrade whose health check finds nothing
# answering, so that validation fails and its on_failure rolls the release
# back to the first revision. The reading commands show that
# failed-and-rolled-back run.
capture_flagship() {
  local name=compat-capture ns=staging port
  trivy=${PIPECTL_TRIVY_BIN:-$root/bin/trivy}
  [[ -x $trivy ]] || { echo "no trivy at $trivy (make bin/trivy, or set PIPECTL_TRIVY_BIN)" >&2; exit 1; }
  cp "$trivy" "$bin/trivy"
  say "starting a sandbox of ${commit:0:7}"
  sandbox=(pipectl-sandbox)
  "${sandbox[@]}" up -name "$name" -dir "$tmp/sandbox" -nodes 2 -node-cpu 8 -node-memory 16Gi -quiet
  trap 'pipectl-sandbox down -name '"$name"' -dir '"$tmp/sandbox"' >/dev/null 2>&1 || true; [[ -n ${app_pid:-} ]] && kill "$app_pid"; cleanup' EXIT
  eval "$(pipectl-sandbox env -name "$name" -dir "$tmp/sandbox")"
  local registry=$PIPECTL_SANDBOX_REGISTRY
  kubectl apply -f "$src/pipelines/cluster/prometheusrules.crd.yaml" >&2
  kubectl create namespace "$ns" >&2
  for s in alpha-members-db alpha-members-jwt alpha-members-smtp; do
    kubectl -n "$ns" create secret generic "$s" --from-literal=value="capture-$s" >&2
  done
  trivy-dbfixture -push "$registry/trivy-db:2" >&2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  alpha-members -listen "127.0.0.1:$port" -version 1.0.0 &
  app_pid=$!
  w=$tmp/work/flagship
  mkdir -p "$w"
  cp -R "$src/pipelines/alpha-members.hcl" "$src/pipelines/alpha-members" "$w/"
  cat >"$w/capture.vars" <<VARS
image_tag           = "1.0.0"
image_repository    = "$registry/alpha-members"
kubeconfig          = "$KUBECONFIG"
registry_plain_http = true
trivy_db_repository = "$registry/trivy-db:2"
base_url            = "http://127.0.0.1:$port"
service_ip          = "10.96.0.80"
monitor_window      = "10s"
VARS
  before_apply=first_deploy show=RUN2 capture flagship "-env staging -var-file capture.vars" ""
  printf 'sandbox_registry %s\nkubeconfig %s\nservice %s\n' "$registry" "$KUBECONFIG" "http://127.0.0.1:$port" >>"$out/flagship/capture.txt"
}

# first_deploy is the flagship's first apply, which succeeds; then it
# changes the release (its log level), so that the next apply upgrades it,
# and stops the stand-in: the health checks of the applies that follow fail
# and validation's on_failure rolls the release back.
first_deploy() {
  pipectl apply-ok apply -auto-approve -env staging -var-file capture.vars
  printf 'logLevel: debug\n' >>"$w/alpha-members/values/staging.yaml"
  kill "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  app_pid=
}

for p in "${pipelines[@]}"; do
  case $p in
    simple) capture simple "-env dev" "" ;;
    gated) capture gated "" "-approve deploy" ;;
    flagship) capture_flagship ;;
    *) capture "$p" "" "" ;;
  esac
done
say "fixtures of ${commit:0:7} in $out"
