#!/usr/bin/env bash
# Makes runs.db with the pipectl of commit COMMIT (default 03b9d15, the
# last before the record layer's Backend): three runs of pipeline.hcl, as
# that release recorded them. Never with new code: the test reads what an
# earlier pipectl wrote. Run from the repository: record/testdata/v03b9d15/make.sh
set -euo pipefail
commit=${1:-03b9d15}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$repo" archive "$commit" | tar -x -C "$work"
export GOWORK=off GOFLAGS=-buildvcs=false
(cd "$work" && go build -o "$work/bin/pipectl" ./cmd/pipectl)
(cd "$work/plugins/std" && go build -o "$work/bin/pipectl-plugin-std" .)
p="$work/p"
mkdir "$p"
cp "$here/pipeline.hcl" "$p/"
cd "$p"
export PIPECTL_PLUGIN_PATH="$work/bin" NO_COLOR=1 PIPECTL_USER=alice
pipectl=$work/bin/pipectl
$pipectl init >/dev/null
# wait_gate waits for the newest run to wait for approval.
latest() { $pipectl runs | awk 'NR==2 {print $1}'; }
wait_gate() { until $pipectl runs | grep -q 'waiting for approval'; do sleep 0.2; done; }
# 1. dev, from a saved plan, approved by bob: succeeded.
$pipectl plan -env dev -out dev.plan >/dev/null
$pipectl apply dev.plan >/dev/null &
apply=$!
wait_gate
PIPECTL_USER=bob $pipectl approve "$(latest)" -yes -reason "CHG-7" >/dev/null
wait $apply
# 2. prod: the build fails, the deploy never starts.
$pipectl apply -env prod -var fail=true -auto-approve >/dev/null 2>&1 || true
# 3. prod: alice's own approval is refused, carol rejects.
$pipectl apply -env prod -auto-approve >/dev/null 2>&1 &
apply=$!
wait_gate
$pipectl approve "$(latest)" -yes >/dev/null 2>&1 || true
PIPECTL_USER=carol $pipectl reject "$(latest)" -reason "error budget spent" >/dev/null
wait $apply || true
$pipectl runs
cp .pipectl/runs.db "$here/runs.db"
echo "wrote $here/runs.db with the pipectl of $(git -C "$repo" rev-parse --short "$commit")"
