#!/usr/bin/env bash
# What a cluster asks of PostgreSQL, measured with pgbench on a throwaway server (docs/scaling.md):
#   heartbeat: one node's heartbeat (its row upserted in a transaction, then every row read), with
#              NODES rows in the table;
#   reload:    one node reading the registry again after a change (servers, names, tokens), with
#              SERVERS servers registered.
# Usage: bench/cluster/registry-load.sh [NODES...] -- [SERVERS...]   (defaults: 3 10 100 -- 100 1000 10000)
# Needs Debian's postgresql package; run as root (the server runs as the postgres account) or as a user.
set -euo pipefail
cd "$(dirname "$0")/../.."
nodes=(3 10 100); servers=(100 1000 10000)
if [ $# -gt 0 ]; then
    nodes=(); servers=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do nodes+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    while [ $# -gt 0 ]; do servers+=("$1"); shift; done
fi
seconds=${SECONDS_EACH:-5}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
work=$(mktemp -d /tmp/gray-registry-load-XXXXXX)
run_as=()
if [ "$(id -u)" = 0 ]; then chown postgres: "$work"; run_as=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
port=55431
"${run_as[@]}" "$bin/initdb" -D "$work/db" -A trust -U gray --no-sync >/dev/null
"${run_as[@]}" "$bin/postgres" -D "$work/db" -p $port -k "$work" -c listen_addresses= -c fsync=off \
    -c max_connections=200 >"$work/postgres.log" 2>&1 &
trap 'kill %1 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do "$bin/pg_isready" -h "$work" -p $port -q && break; sleep 0.2; done
psql=(psql -h "$work" -p $port -U gray -d gray -v ON_ERROR_STOP=1 -qAt)
psql -h "$work" -p $port -U gray -d postgres -qc "CREATE DATABASE gray"

# The schema as gray makes it: an empty registry migrated into the database.
: >"$work/empty.db"
dotnet run --project src/Gray -c Release -- admin migrate --from "sqlite:$work/empty.db" \
    --to "Host=$work;Port=$port;Username=gray;Database=gray" >/dev/null

cat >"$work/heartbeat.sql" <<'SQL'
\set node random(1, :nodes)
BEGIN;
INSERT INTO nodes (node_id, advertise, fingerprint, api, started_at, heartbeat_at, agents, clients, pairs,
    bytes_in, bytes_out)
VALUES ('n' || :node, '10.0.0.1:44555', 'ff', NULL, now(), now(), 100, 1000, 1000, 1, 2)
ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now(), agents = EXCLUDED.agents, clients = EXCLUDED.clients,
    pairs = EXCLUDED.pairs, bytes_in = EXCLUDED.bytes_in, bytes_out = EXCLUDED.bytes_out;
DELETE FROM nodes WHERE heartbeat_at < now() - interval '1 day';
COMMIT;
SELECT node_id, advertise, fingerprint, api, started_at, heartbeat_at, draining, agents, clients, pairs, bytes_in,
    bytes_out, heartbeat_at > now() - make_interval(secs => 5) FROM nodes ORDER BY node_id;
SQL
cat >"$work/reload.sql" <<'SQL'
SELECT id, secret, client_port, data_port, created_at, bandwidth, protocols, drained, declared FROM servers;
SELECT host, server_id FROM server_hosts;
SELECT hash, id, scope, name, created_at FROM tokens;
SQL

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1; }
echo "| what | rows | clients | per second | ms each |"
echo "|---|---|---|---|---|"
for n in "${nodes[@]}"; do
    "${psql[@]}" -c "DELETE FROM nodes; INSERT INTO nodes (node_id, advertise, fingerprint, started_at, heartbeat_at)
        SELECT 'n' || i, '10.0.0.1:44555', 'ff', now(), now() FROM generate_series(1, $n) i"
    clients=$(( n < 8 ? n : 8 ))
    rate=$("$bin/pgbench" -h "$work" -p $port -U gray -n -c $clients -j 2 -T "$seconds" -D nodes=$n \
        -f "$work/heartbeat.sql" gray 2>/dev/null | tps)
    echo "| heartbeat | $n nodes | $clients | ${rate%.*} | $(awk "BEGIN { printf \"%.3f\", 1000 * $clients / $rate }") |"
done
for s in "${servers[@]}"; do
    "${psql[@]}" -c "DELETE FROM server_hosts; DELETE FROM servers; INSERT INTO servers (id, secret, client_port,
        data_port, created_at) SELECT 's' || i, md5(i::text), 20000 + 2 * i, 20001 + 2 * i, now()::text
        FROM generate_series(1, $s) i; INSERT INTO server_hosts SELECT 's' || i || '.example.org', 's' || i
        FROM generate_series(1, $s) i"
    rate=$("$bin/pgbench" -h "$work" -p $port -U gray -n -c 2 -j 2 -T "$seconds" -f "$work/reload.sql" gray \
        2>/dev/null | tps)
    echo "| reload | $s servers (+ $s names) | 2 | ${rate%.*} | $(awk "BEGIN { printf \"%.3f\", 1000 * 2 / $rate }") |"
done
