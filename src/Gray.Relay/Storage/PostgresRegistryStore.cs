// The registry in PostgreSQL, shared by the nodes of a cluster (decision 0042): the same tables as SQLite's,
// and the nodes' heartbeats. A write announces itself on a channel every node listens to.
using System.Data.Common;
using Npgsql;

namespace Gray.Relay;

internal sealed class PostgresRegistryStore : RegistryStore
{
    /// <summary>The channel registry writes are announced on (LISTEN/NOTIFY).</summary>
    public const string RegistryChannel = "gray_registry";

    /// <summary>The channel a node's arrival, drain or departure is announced on.</summary>
    public const string NodesChannel = "gray_nodes";

    /// <summary>The advisory lock a migrating relay holds ("gray" in ASCII): a second one waits, then finds the
    /// schema current.</summary>
    private const long MigrationLock = 0x67726179;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresRegistryStore(string connectionString)
    {
        ConnectionString = connectionString;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Description = $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = new NpgsqlSlimDataSourceBuilder(connectionString).Build();
    }

    public string ConnectionString { get; }

    public override string Description { get; }

    public override DbConnection Open() => _dataSource.OpenConnection();

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) =>
        _dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>Drops the pool's idle connections: after PostgreSQL restarted they are dead, and the pool would
    /// hand each out once more before finding out.</summary>
    public void ClearPool() => _dataSource.Clear();

    /// <summary>A connection of its own, outside the pool's reuse: a listener keeps it.</summary>
    public async Task<NpgsqlConnection> OpenListenerAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Tells every node that node @id came, drained or left (they read the nodes table at once).
    /// </summary>
    public const string NotifyNodeSql = $"SELECT pg_notify('{NodesChannel}', @id)";

    public override void Announce(DbConnection connection, DbTransaction transaction) =>
        Execute(connection, $"SELECT pg_notify('{RegistryChannel}', '')", transaction);

    public override void Migrate()
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        Execute(connection, "SELECT pg_advisory_xact_lock(@lock)", transaction, ("@lock", MigrationLock));
        Execute(connection, "CREATE TABLE IF NOT EXISTS gray_schema (version integer NOT NULL)", transaction);
        long version = Scalar(connection, "SELECT COALESCE(MAX(version), 0) FROM gray_schema", transaction);
        CheckNotNewer(version);
        // Version 2 is PostgreSQL's first: SQLite's two versions in one step.
        if (version < 2)
        {
            Execute(connection, """
                CREATE TABLE servers (
                    id text PRIMARY KEY,
                    secret text NOT NULL,
                    client_port integer UNIQUE,
                    data_port integer NOT NULL UNIQUE,
                    created_at text NOT NULL,
                    declared integer NOT NULL DEFAULT 0,
                    bandwidth text,
                    protocols integer NOT NULL DEFAULT 1,
                    drained integer NOT NULL DEFAULT 0);
                CREATE TABLE server_hosts (
                    host text PRIMARY KEY,
                    server_id text NOT NULL REFERENCES servers (id) ON DELETE CASCADE);
                CREATE TABLE tokens (
                    hash text PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    scope text NOT NULL,
                    name text NOT NULL,
                    created_at text NOT NULL);
                CREATE TABLE nodes (
                    node_id text PRIMARY KEY,
                    advertise text NOT NULL,
                    fingerprint text NOT NULL,
                    api text,
                    started_at timestamptz NOT NULL,
                    heartbeat_at timestamptz NOT NULL,
                    draining boolean NOT NULL DEFAULT false,
                    agents integer NOT NULL DEFAULT 0,
                    clients integer NOT NULL DEFAULT 0,
                    pairs integer NOT NULL DEFAULT 0,
                    bytes_in bigint NOT NULL DEFAULT 0,
                    bytes_out bigint NOT NULL DEFAULT 0);
                DELETE FROM gray_schema;
                INSERT INTO gray_schema (version) VALUES (2);
                """, transaction);
        }

        transaction.Commit();
    }

    public override void Dispose() => _dataSource.Dispose();
}
