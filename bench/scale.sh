#!/usr/bin/env bash
# Times pipectl end to end on a generated pipeline of N no-op steps (std
# plugin), in stages of ten, each step depending on the step ten before:
# validate, plan -out and apply of that saved plan (apply PLAN DIR), each with its peak
# memory (/usr/bin/time), a per-step cost and a verdict on linearity; then the
# same steps planned and applied by one command (apply -auto-approve, which plans
# once: the saved plan's apply plans again, to check it still holds).
# Times are wall clock and, in brackets, CPU (user + sys, the plugin
# process included): on a shared machine the CPU time is the steadier one,
# and the verdict is made on both.
#   bench/scale.sh                 # 1000 10000 20000 100000
#   bench/scale.sh 1000 10000      # some sizes
# It also times reading the run back: runs show, runs show -json, runs report,
# and gives the size of the record (runs.db) that holds its runs. ROUNDS=R
# measures each size R times, a row each (a shared machine varies from one
# run to the next), and makes the verdict on the medians.
# Uses bin/pipectl and bin/pipectl-plugin-std (make build); PIPECTL=path
# times another pipectl binary (a build of main, to compare). KEPT=K first
# records K runs of the pipeline (apply -auto-approve, untimed), so that
# what is timed meets a record keeping K runs (DefaultKeep is 100 per
# environment): what an apply costs must not grow with them. Targets: see
# docs/architecture.md (Performance): per step at the largest N within
# 1.5x of the smallest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 10000 20000 100000)
for b in pipectl pipectl-plugin-std; do
  [[ -x bin/$b ]] || { echo "bin/$b is missing: make build" >&2; exit 1; }
done
pipectl=${PIPECTL:-bin/pipectl}
kept=${KEPT:-0}
rounds=${ROUNDS:-1}
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# generate N DIR: the pipeline, as the engine's BenchmarkApplyNoop1000 builds it.
generate() {
  awk -v n="$1" 'BEGIN {
    print "pipeline \"scale\" {}"
    for (s = 0; s * 10 < n; s++) {
      printf "stage \"s%d\" {\n", s
      for (i = s * 10; i < n && i < s * 10 + 10; i++) {
        printf "  step \"n%d\" {\n    action = std.noop\n", i
        if (i >= 10) printf "    inputs = step.n%d.step_id\n", i - 10
        print "  }"
      }
      print "}"
    }
  }' > "$2/pipeline.hcl"
}

# median X...: the median of numbers.
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", (a[int((NR + 1) / 2)] + a[int(NR / 2) + 1]) / 2 }'; }

# measure LOG CMD...: runs CMD, prints "WALL CPU MB" (seconds, seconds of
# user + sys, peak RSS).
measure() {
  local log=$1; shift
  if ! /usr/bin/time -f '%e %U %S %M' -o "$log.time" "$@" > "$log" 2>&1; then
    echo "failed: $*" >&2; tail -5 "$log" >&2; exit 1
  fi
  awk '{ printf "%.2f %.2f %.0f", $1, $2 + $3, $4 / 1024 }' "$log.time"
}

echo "pipectl $($pipectl version 2>/dev/null | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $kept runs kept before each size, $rounds round(s) of each"
printf '| %7s | %-26s | %-26s | %-26s | %-17s | %-11s | %-26s | %-17s |\n' N "validate" "plan -out" "apply PLAN" "ms/step p+a [cpu]" "KB/step val" "apply -auto-approve" "ms/step [cpu]"
printf '|---------|----------------------------|----------------------------|----------------------------|-------------------|-------------|----------------------------|-------------------|\n'
first=""
reads=()
for n in "${sizes[@]}"; do
  d=$work/p$n; mkdir -p "$d/.pipectl/plugins"
  ln -s "$root/bin/pipectl-plugin-std" "$d/.pipectl/plugins/pipectl-plugin-std"
  generate "$n" "$d"
  "$pipectl" init "$d" > /dev/null
  for ((k = 0; k < kept; k++)); do
    "$pipectl" apply -auto-approve "$d" > "$d/kept.log" 2>&1 || { echo "failed: kept run $k" >&2; tail -5 "$d/kept.log" >&2; exit 1; }
  done
  pers=(); cpus=(); opers=()
  for ((r = 0; r < rounds; r++)); do
    read -r vt vc vm <<< "$(measure "$d/validate.log" "$pipectl" validate "$d")"
    read -r pt pc pm <<< "$(measure "$d/plan.log" "$pipectl" plan -out "$d/plan.json" "$d")"
    read -r at ac am <<< "$(measure "$d/apply.log" "$pipectl" apply -no-color "$d/plan.json" "$d")"
    read -r ot oc om <<< "$(measure "$d/auto.log" "$pipectl" apply -auto-approve -no-color "$d")"
    per=$(awk -v p="$pt" -v a="$at" -v n="$n" 'BEGIN { printf "%.3f", (p + a) * 1000 / n }')
    cpu=$(awk -v p="$pc" -v a="$ac" -v n="$n" 'BEGIN { printf "%.3f", (p + a) * 1000 / n }')
    kb=$(awk -v m="$vm" -v n="$n" 'BEGIN { printf "%.1f", m * 1024 / n }')
    oper=$(awk -v t="$ot" -v c="$oc" -v n="$n" 'BEGIN { printf "%.3f [%.3f]", t * 1000 / n, c * 1000 / n }')
    printf '| %7d | %6ss [%6ss] %5s MB | %6ss [%6ss] %5s MB | %6ss [%6ss] %5s MB | %7s [%7s] | %11s | %6ss [%6ss] %5s MB | %17s |\n' \
      "$n" "$vt" "$vc" "$vm" "$pt" "$pc" "$pm" "$at" "$ac" "$am" "$per" "$cpu" "$kb" "$ot" "$oc" "$om" "$oper"
    pers+=("$per"); cpus+=("$cpu"); opers+=("$(awk -v t="$ot" -v n="$n" 'BEGIN { printf "%.3f", t * 1000 / n }')")
  done
  read -r st sc _ <<< "$(measure "$d/show.log" "$pipectl" runs show latest "$d")"
  read -r sj sjc _ <<< "$(measure "$d/showjson.log" "$pipectl" runs show latest "$d" -json)"
  read -r rt rc _ <<< "$(measure "$d/report.log" "$pipectl" runs report latest "$d" -o "$d/report.html")"
  runs=$((kept + 2 * rounds))
  rec=$(du -k "$d/.pipectl/runs.db" | awk -v n="$n" -v r="$runs" '{ printf "%.1f MB (%.2f KB a step of a run)", $1 / 1024, $1 / n / r }')
  reads+=("$n steps: runs show ${st}s [${sc}s], runs show -json ${sj}s [${sjc}s], runs report ${rt}s [${rc}s]; the record of its $runs runs $rec")
  per=$(median "${pers[@]}"); cpu=$(median "${cpus[@]}"); operstep=$(median "${opers[@]}")
  [[ -n $first ]] || { first=$per; firstcpu=$cpu; firstn=$n; firstauto=$operstep; }
  last=$per; lastcpu=$cpu; lastn=$n; lastauto=$operstep
  rm -rf "$d"
done
verdict() { # NAME LAST FIRST
  local r; r=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", a / b }')
  if awk -v r="$r" 'BEGIN { exit !(r <= 1.5) }'; then v=linear; else v="NOT linear"; fi
  echo "$1 per step at $lastn is ${r}x that at $firstn (target <= 1.5x): $v"
}
printf '%s\n' "${reads[@]}"
verdict "wall time" "$last" "$first"
verdict "CPU time" "$lastcpu" "$firstcpu"
verdict "apply -auto-approve wall time" "$lastauto" "$firstauto"
if command -v terraform > /dev/null && [[ ${TERRAFORM:-1} != 0 ]]; then
  t=$work/tf; mkdir -p "$t" # TERRAFORM=0 skips this
  printf 'resource "terraform_data" "n" {\n  count = 1000\n}\n' > "$t/main.tf"
  (cd "$t" && terraform init -input=false > /dev/null 2>&1)
  export TF_CLI_CONFIG_FILE=/dev/null # no warning about a missing ~/.terraformrc
  read -r tt _ <<< "$(cd "$t" && measure "$t/apply.log" terraform apply -auto-approve -input=false)"
  echo "terraform $(terraform version 2>/dev/null | head -1 | cut -d' ' -f2): 1,000 terraform_data apply ${tt}s; pipectl 1,000 plan + apply is $(awk -v t="$tt" -v p="$first" 'BEGIN { printf "%.1f", t / (p * 1000 / 1000) }')x faster (for information)"
fi
