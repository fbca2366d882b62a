#!/usr/bin/env bash
# Usage: mk/shared-versions.sh MODULE_DIR...
#
# Fails unless every given module that builds client-go resolves client-go
# and each module its clientset imports to the same version. Go's build cache
# keys a compiled package by its dependencies' versions too: a module one
# x/sys release behind the others compiles its own client-go and k8s.io/api
# on a cold machine (issue 27). The runtime modules
# (sandbox/runtime/*) build with other flags and share nothing anyway.
set -euo pipefail
export GOWORK=off GOFLAGS=-buildvcs=false
pkg=k8s.io/client-go/kubernetes

declare -A want first
bad=0
for m in "$@"; do
  (cd "$m" && go list -m k8s.io/client-go >/dev/null 2>&1) || continue
  deps=$(cd "$m" && go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' "$pkg" | sort -u) ||
    { echo "$m: cannot list $pkg's dependencies (above)"; bad=1; continue; }
  while read -r path version; do
    if [[ -z ${want[$path]:-} ]]; then
      want[$path]=$version first[$path]=$m
    elif [[ ${want[$path]} != "$version" ]]; then
      echo "$m: $path $version, but ${first[$path]} has ${want[$path]}"
      bad=1
    fi
  done <<<"$deps"
done
if ((bad)); then
  echo "Align them: in each module above, go get MODULE@VERSION (the highest) && go mod tidy."
  exit 1
fi
echo "client-go's dependencies: one version each across the modules"
