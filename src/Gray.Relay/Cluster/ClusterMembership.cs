// This relay as a node of a cluster (decision 0042): it writes a heartbeat with its figures into the
// shared registry's nodes table, reads the others', and tells its agents whenever the live set changes.
// While PostgreSQL is away the node keeps serving from memory and keeps the last node list.
using System.Data.Common;
using Gray.Protocol;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal sealed class ClusterMembership : IAsyncDisposable
{
    /// <summary>Longest a departing node waits to remove its row: a stop must not hang on the database.</summary>
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(2);

    private readonly RelayContext _relay;
    private readonly PostgresRegistryStore _store;
    private readonly ClusterOptions _options;
    private readonly string? _api;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTimeOffset _startedAt;
    private Task _loop = Task.CompletedTask;
    private volatile IReadOnlyList<NodeRecord> _nodes = [];
    private volatile bool _draining;
    private bool _reachable = true;
    private DateTimeOffset _settleUntil;

    public ClusterMembership(RelayContext relay, PostgresRegistryStore store, ClusterOptions options, string? api)
    {
        _relay = relay;
        _store = store;
        _options = options;
        _api = api;
        _log = relay.LoggerFactory.CreateLogger<ClusterMembership>();
        _startedAt = relay.Time.GetUtcNow();
    }

    public string NodeId => _options.NodeId;

    /// <summary>Every node the table holds, live or gone, as last read.</summary>
    public IReadOnlyList<NodeRecord> Nodes => _nodes;

    /// <summary>The live nodes changed (one came, went, or began or ended a drain).</summary>
    public event Action? NodesChanged;

    /// <summary>The first heartbeat (the start fails if the registry cannot take it), then the loop.</summary>
    public void Start()
    {
        Beat(announce: true);
        _loop = LoopAsync(_stopping.Token);
    }

    /// <summary>Reads the nodes again now (another node came, drained or left).</summary>
    public void Wake() => Volatile.Read(ref _wake).TrySetResult();

    /// <summary>Drains (or resumes) node <paramref name="nodeId"/>, this one or another: the node applies it
    /// when it reads its row, within a heartbeat. False if the table has no such node.</summary>
    /// <exception cref="RegistryException">The registry cannot be written now.</exception>
    public bool SetDraining(string nodeId, bool draining)
    {
        try
        {
            using var connection = _store.Open();
            using var transaction = connection.BeginTransaction();
            int rows = RegistryStore.Execute(connection, "UPDATE nodes SET draining = @draining WHERE node_id = @id",
                transaction, ("@draining", draining), ("@id", nodeId));
            RegistryStore.Execute(connection, PostgresRegistryStore.NotifyNodeSql, transaction, ("@id", nodeId));
            transaction.Commit();
            return rows > 0;
        }
        catch (DbException error)
        {
            throw RegistryException.From(_relay.Registry.Location, error);
        }
    }

    /// <summary>What <paramref name="serverId"/>'s agent is told: this node and the live others, as many as a
    /// frame holds, those the server ranks first (ClusterNodes.Rank) first.</summary>
    public ClusterNodes AgentView(string serverId) => new(NodeId, [.. _nodes
        .Where(n => n.Live && n.Fingerprint.Length == 2 * Wire.FingerprintBytes)
        .OrderBy(n => n.Id == NodeId ? 0 : 1).ThenBy(n => ClusterNodes.Rank(serverId, n.Id))
        .Take(Wire.MaxClusterNodes)
        .Select(n => new ClusterNode(n.Id, n.Advertise, Convert.FromHexString(n.Fingerprint), n.Draining))]);

    private async Task LoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake);
            await Task.WhenAny(wake.Task, Task.Delay(_options.HeartbeatInterval, _relay.Time, stopping))
                .ConfigureAwait(false);
            if (stopping.IsCancellationRequested) return;
            if (wake.Task.IsCompleted)
            {
                Volatile.Write(ref _wake, new(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            try
            {
                if (!_reachable)
                {
                    // Back after an outage: the others' heartbeats are old too. Until they had a node timeout
                    // to write again, nodes live before stay live (agents would leave them for nothing).
                    _settleUntil = _relay.Time.GetUtcNow() + _options.NodeTimeout;
                }

                Beat(announce: false);
                if (!_reachable)
                {
                    _store.ClearPool(); // connections made before a restart of PostgreSQL are dead
                    _log.LogInformation("The registry {Registry} answers again", _relay.Registry.Location);
                }

                _reachable = true;
            }
            catch (Exception error) when (error is not (DbException or TimeoutException))
            {
                if (stopping.IsCancellationRequested) return;
                _log.LogError(error, "A heartbeat failed; the next one is tried in {Seconds} s",
                    _options.HeartbeatInterval.TotalSeconds);
            }
            catch (Exception error)
            {
                if (stopping.IsCancellationRequested) return;
                if (_reachable)
                {
                    _log.LogWarning("The registry {Registry} does not answer ({Reason}): serving the tunnels " +
                        "this node has, with the last node list", _relay.Registry.Location, error.Message);
                }

                _reachable = false;
            }
        }
    }

    // One heartbeat: this node's row, then every node's. The first tells the others it came.
    private void Beat(bool announce)
    {
        var servers = _relay.Manager.All;
        using var connection = _store.Open();
        using (var transaction = connection.BeginTransaction())
        {
            RegistryStore.Execute(connection, """
                INSERT INTO nodes (node_id, advertise, fingerprint, api, started_at, heartbeat_at, agents, clients,
                    pairs, bytes_in, bytes_out)
                VALUES (@id, @advertise, @fingerprint, @api, @started, now(), @agents, @clients, @pairs, @in, @out)
                ON CONFLICT (node_id) DO UPDATE SET advertise = EXCLUDED.advertise,
                    fingerprint = EXCLUDED.fingerprint, api = EXCLUDED.api, started_at = EXCLUDED.started_at,
                    heartbeat_at = now(), agents = EXCLUDED.agents,
                    clients = EXCLUDED.clients, pairs = EXCLUDED.pairs, bytes_in = EXCLUDED.bytes_in,
                    bytes_out = EXCLUDED.bytes_out
                """, transaction, ("@id", NodeId), ("@advertise", _options.Advertise),
                ("@fingerprint", _relay.Fingerprint), ("@api", _api), ("@started", _startedAt),
                ("@agents", servers.Count), ("@clients", _relay.Clients.Current),
                ("@pairs", servers.Sum(s => s.ActivePairs)), ("@in", servers.Sum(s => s.BytesIn)),
                ("@out", servers.Sum(s => s.BytesOut)));
            // A node gone for a day is forgotten (listed as gone until then, for the operator to see).
            RegistryStore.Execute(connection, "DELETE FROM nodes WHERE heartbeat_at < now() - interval '1 day'",
                transaction);
            if (announce)
            {
                RegistryStore.Execute(connection, PostgresRegistryStore.NotifyNodeSql, transaction, ("@id", NodeId));
            }

            transaction.Commit();
        }

        Read(connection);
    }

    private void Read(DbConnection connection)
    {
        var nodes = new List<NodeRecord>();
        using (var command = RegistryStore.Command(connection, """
                   SELECT node_id, advertise, fingerprint, api, started_at, heartbeat_at, draining, agents, clients,
                       pairs, bytes_in, bytes_out, heartbeat_at > now() - make_interval(secs => @timeout)
                   FROM nodes ORDER BY node_id
                   """, null, ("@timeout", _options.NodeTimeout.TotalSeconds)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                nodes.Add(new NodeRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4),
                    reader.GetFieldValue<DateTimeOffset>(5), reader.GetBoolean(6), reader.GetInt32(7),
                    reader.GetInt32(8), reader.GetInt32(9), reader.GetInt64(10), reader.GetInt64(11),
                    reader.GetBoolean(12)));
            }
        }

        var before = _nodes;
        if (_relay.Time.GetUtcNow() < _settleUntil)
        {
            var wasLive = before.Where(n => n.Live).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
            nodes = [.. nodes.Select(n => n.Live || !wasLive.Contains(n.Id) ? n : n with { Live = true })];
        }

        _nodes = nodes;
        // A drain of this node, asked for on any node, is its row's: the row decides at every read.
        if (nodes.FirstOrDefault(n => n.Id == NodeId) is { } self)
        {
            _relay.DrainAll = self.Draining;
            if (self.Draining != _draining)
            {
                _draining = self.Draining;
                _log.LogInformation(self.Draining ? "This node is draining: new clients are refused, running " +
                    "pairs go on, agents are told to rebalance" : "This node takes new clients again");
            }
        }

        if (LiveSet(before).SequenceEqual(LiveSet(nodes))) return;
        try
        {
            NodesChanged?.Invoke();
        }
        catch (Exception error)
        {
            _log.LogError(error, "Telling agents of the cluster's nodes failed");
        }
    }

    private static IEnumerable<(string, string, string, bool)> LiveSet(IEnumerable<NodeRecord> nodes) =>
        nodes.Where(n => n.Live).Select(n => (n.Id, n.Advertise, n.Fingerprint, n.Draining));

    /// <summary>Stops the heartbeats and removes this node's row, so that the others see it leave at once;
    /// a registry that does not answer holds the stop for at most <see cref="LeaveTimeout"/> each.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(LeaveTimeout).ConfigureAwait(false); // a heartbeat may be under way
            using var leave = new CancellationTokenSource(LeaveTimeout);
            await using var connection = await _store.OpenAsync(leave.Token).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM nodes WHERE node_id = @id; " + PostgresRegistryStore.NotifyNodeSql;
            command.Parameters.AddWithValue("id", NodeId);
            await command.ExecuteNonQueryAsync(leave.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is DbException or TimeoutException or OperationCanceledException)
        {
            _log.LogWarning("Could not remove this node from the registry: {Reason}", error.Message);
        }

        _stopping.Dispose();
    }
}
