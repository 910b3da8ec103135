#!/usr/bin/env bash
# What one relay node holds per agent (docs/scaling.md): its RSS with no agent, then with N agent sessions
# (one agent process serving N declared servers, its default pool, multiplexed), idle.
# Usage: [POOL=P] bench/cluster/agents-per-node.sh [N] [GRAY]   (defaults: 500 agents with the default pool,
# the native binary published into /tmp/gray-native by `dotnet publish src/Gray -c Release -r linux-x64 -o
# /tmp/gray-native`)
set -euo pipefail
n=${1:-500}
gray=${2:-/tmp/gray-native/gray}
[ -x "$gray" ] || { echo "no gray binary at $gray: publish it first" >&2; exit 2; }
work=$(mktemp -d /tmp/gray-agents-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=45555
{
    echo "data_dir: $work/relay"
    echo "control: 127.0.0.1:$port"
    echo "ports: 30000-$((30000 + 2 * n + 10))"
    echo "max_connections: $((20 * n + 1000))"
    echo "http: { listen: 127.0.0.1:45580 }"
    echo "servers:"
    for i in $(seq "$n"); do echo "  s$i: { secret: 'secret-of-server-number-$i-0123456789abcdef' }"; done
} >"$work/relay.yaml"
"$gray" relay --config "$work/relay.yaml" --no-console >"$work/relay.log" 2>&1 &
relay=$!
for _ in $(seq 100); do grep -q "^gray relay: control" "$work/relay.log" && break; sleep 0.2; done
fingerprint=$(sed -n 's/.*certificate SHA-256 \([0-9a-f]*\).*/\1/p' "$work/relay.log" | head -1)
{
    echo "relay: 127.0.0.1:$port"
    echo "fingerprint: $fingerprint"
    echo "tunnels:"
    for i in $(seq "$n"); do
        echo "  s$i: { target: 127.0.0.1:9, secret: 'secret-of-server-number-$i-0123456789abcdef'${POOL:+, pool: $POOL} }"
    done
} >"$work/agent.yaml"
rss() { awk '/VmRSS/ { print $2 }' "/proc/$relay/status"; }
sleep 25 # the relay's first memory housekeeping (decision 0040)
before=$(rss)
ulimit -n "$(ulimit -Hn)"
GRAY_KNOWN_RELAYS="$work/known" "$gray" agent --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$work/relay/admin.json")
for _ in $(seq 300); do
    agents=$(curl -s -H "Authorization: Bearer $token" http://127.0.0.1:45580/api/v1/relay \
        | sed -n 's/.*"agents":\([0-9]*\).*/\1/p')
    [ "${agents:-0}" -ge "$n" ] && break
    sleep 0.5
done
sleep 25
after=$(rss)
connections=$(ls "/proc/$relay/fd" | wc -l)
echo "agents: ${agents:-0} of $n; relay RSS ${before} KiB without agents, ${after} KiB with them:" \
    "$(( (after - before) / n )) KiB per agent session; $connections descriptors open"
