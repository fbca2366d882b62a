#!/usr/bin/env bash
# Captures what a pipectl of another commit wrote and printed, as fixtures
# for the compatibility tests beside this script (records_test.go):
#
#   test/records/capture.sh COMMIT OUTDIR [PIPELINE...]
#
# It checks COMMIT out in a temporary git worktree, builds pipectl and its
# plugins there (make), and runs every pipeline of test/records/pipelines
# (or the ones named) with them. For each pipeline, OUTDIR/NAME/ gets:
#
#   store/           the pipeline's directory after the runs: pipeline.hcl, the
#                    plugin lock file, .pipectl/ (the run database, artifacts)
#   plan.saved       a plan saved with plan -out, never applied
#   golden/L.out     stdout of command L, golden/L.err its stderr,
#   commands.txt     "L<TAB>exit status<TAB>arguments" for every command, in order
#   run-ids.txt      "RUN1 <id>": the runs in the order they were applied
#
# and OUTDIR/capture.txt says which commit, where the pipelines ran and where
# the binaries were (what the tests normalise away). The fixtures are only
# ever written by this script run against the old commit: never by new code.
#
# The flagship (pipelines/alpha-members.hcl) needs the sandbox and trivy:
# CAPTURE_FLAGSHIP=1 adds it (see capture_flagship). trivy is not rebuilt
# (about 20 CPU minutes; its pin is the same across these commits): it is
# $PIPECTL_TRIVY_BIN, else the repository's bin/trivy.
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
src=$tmp/src
cleanup() {
  git -C "$root" worktree remove --force "$src" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

say() { printf '==> %s\n' "$*" >&2; }

say "building pipectl and its plugins at ${commit:0:7} in $src"
git -C "$root" worktree add --detach --quiet "$src" "$commit"
targets=(bin/pipectl bin/pipectl-plugin-std)
if [[ ${CAPTURE_FLAGSHIP:-} == 1 ]]; then
  targets+=(bin/pipectl-plugin-helm bin/pipectl-plugin-k8s bin/pipectl-plugin-trivy bin/alpha-members bin/trivy-dbfixture bin/pipectl-sandbox)
fi
make -C "$src" --no-print-directory "${targets[@]}" >&2
bin=$src/bin
export PATH=$bin:$PATH PIPECTL_PLUGIN_PATH=$bin NO_COLOR=1 PIPECTL_USER=capture TZ=UTC

cat >"$out/capture.txt" <<EOF
commit $commit
workdir $tmp/work
bindir $bin
EOF

# pipectl LABEL ARGS... runs the old pipectl in the pipeline's directory $w,
# its output into golden/LABEL.out and .err, and notes the command.
pipectl() {
  local label=$1 code=0
  shift
  (cd "$w" && command pipectl "$@") >"$o/golden/$label.out" 2>"$o/golden/$label.err" || code=$?
  printf '%s\t%s\t%s\n' "$label" "$code" "$*" >>"$o/commands.txt"
}

# capture NAME PLAN-FLAGS APPLY-FLAGS: the commands of every pipeline (the
# flags: words, split; apply takes the plan's flags too).
capture() {
  local name=$1 plan apply
  read -ra plan <<<"$2"
  read -ra apply <<<"$3"
  apply=("${plan[@]}" "${apply[@]}")
  w=$tmp/work/$name o=$out/$name
  say "capturing $name"
  rm -rf "$o" && mkdir -p "$o/golden" "$w"
  cp -R "$here/pipelines/$name/." "$w/"
  pipectl init init
  pipectl validate validate "${plan[@]}"
  pipectl validate-json validate -json "${plan[@]}"
  pipectl plan plan "${plan[@]}"
  pipectl plan-json plan -json "${plan[@]}"
  pipectl plan-out plan -out plan.saved "${plan[@]}"
  mv "$w/plan.saved" "$o/plan.saved"
  pipectl apply apply -auto-approve "${apply[@]}"
  pipectl apply-json apply -auto-approve -json "${apply[@]}"
  # The runs, oldest first, from the record itself.
  command pipectl runs "$w" -json | jq -r 'select(.type == "run") | .id' | tac | awk '{printf "RUN%d %s\n", NR, $1}' >"$o/run-ids.txt"
  local run1
  run1=$(awk '$1 == "RUN1" {print $2}' "$o/run-ids.txt")
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
  sed -i "s/$run1/\$RUN1/g" "$o/commands.txt"
  cp -R "$w" "$o/store"
}

for p in "${pipelines[@]}"; do
  case $p in
    simple) capture simple "-env dev" "" ;;
    gated) capture gated "" "-approve deploy" ;;
    *) capture "$p" "" "" ;;
  esac
done
say "fixtures of ${commit:0:7} in $out"
