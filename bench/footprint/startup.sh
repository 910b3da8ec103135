#!/usr/bin/env bash
# The relay's resident memory just after start, for each environment given (one variant per argument):
#   bench/footprint/startup.sh "" "DOTNET_TieredPGO=0" "DOTNET_GCgen0size=0x100000 DOTNET_gcConcurrent=0"
set -euo pipefail
GRAY=${GRAY:-/tmp/fp-art/bin/Gray/release/gray.dll}
PORT=${PORT:-32200}
SETTLE=${SETTLE:-4}      # seconds after the start line
RUNS=${RUNS:-3}          # runs per variant; the median is printed
for variant in "$@"; do
  values=()
  for _ in $(seq "$RUNS"); do
    dir=$(mktemp -d)
    env $variant dotnet "$GRAY" relay --data-dir "$dir/data" --control "127.0.0.1:$PORT" --ports "$((PORT + 1))-$((PORT + 9))" \
      --no-console >"$dir/log" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 100); do grep -qs "gray relay: control" "$dir/log" && break; sleep 0.1; done
    sleep "$SETTLE"
    values+=("$(awk '/VmRSS/ {print $2}' /proc/$pid/status)")
    kill -TERM "$pid"; wait "$pid" || true
    rm -rf "$dir"
  done
  median=$(printf '%s\n' "${values[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  printf '%-60s RSS %6.1f MiB  (runs: %s KiB)\n' "[${variant:-default}]" "$(echo "$median / 1024" | bc -l)" "${values[*]}"
done
