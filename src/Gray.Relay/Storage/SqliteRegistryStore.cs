// The registry in one SQLite file in the data directory (0600): a single relay's, the default. The data
// directory's lock keeps a second relay away, so migrations need no lock of their own.
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Gray.Relay;

internal sealed class SqliteRegistryStore : RegistryStore
{
    private readonly string _connectionString;

    public SqliteRegistryStore(string path)
    {
        SqliteLibrary.EnsureBound();
        Path = path;
        if (!File.Exists(path)) DataDirectory.WritePrivate(path, "");
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
    }

    public string Path { get; }

    public override string Description => $"sqlite:{Path}";

    public override DbConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    // The schema's version is SQLite's user_version. Before version 1 columns were added one by one as
    // they came; those steps stay for registries of that time.
    public override void Migrate()
    {
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode = DELETE");
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS tokens (
                hash TEXT PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                scope TEXT NOT NULL,
                name TEXT NOT NULL,
                created_at TEXT NOT NULL);
            """);
        long version = Scalar(connection, "PRAGMA user_version");
        CheckNotNewer(version);
        if (version < 1) MigrateToVersion1(connection);
        if (version < 2)
        {
            using var transaction = connection.BeginTransaction();
            // Version 2: a server's drain is kept in the registry (every node of a cluster sees it).
            Execute(connection, "ALTER TABLE servers ADD COLUMN drained INTEGER NOT NULL DEFAULT 0", transaction);
            Execute(connection, "PRAGMA user_version = 2", transaction);
            transaction.Commit();
        }
    }

    // Version 1: a server's client port may be absent (host names only), and host names get their table.
    // SQLite cannot drop NOT NULL in place, so the table is rebuilt with its rows. One transaction, so that
    // a relay stopped halfway starts again from version 0.
    private static void MigrateToVersion1(DbConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS servers (
                id TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                client_port INTEGER NOT NULL UNIQUE,
                data_port INTEGER NOT NULL UNIQUE,
                created_at TEXT NOT NULL);
            """);
        AddColumnIfMissing(connection, "declared", "INTEGER NOT NULL DEFAULT 0");
        AddColumnIfMissing(connection, "bandwidth", "TEXT");
        AddColumnIfMissing(connection, "protocols", "INTEGER NOT NULL DEFAULT 1"); // TCP
        using var transaction = connection.BeginTransaction();
        Execute(connection, """
            CREATE TABLE servers_v1 (
                id TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                client_port INTEGER UNIQUE,
                data_port INTEGER NOT NULL UNIQUE,
                created_at TEXT NOT NULL,
                declared INTEGER NOT NULL DEFAULT 0,
                bandwidth TEXT,
                protocols INTEGER NOT NULL DEFAULT 1);
            INSERT INTO servers_v1 (id, secret, client_port, data_port, created_at, declared, bandwidth, protocols)
                SELECT id, secret, client_port, data_port, created_at, declared, bandwidth, protocols FROM servers;
            DROP TABLE servers;
            ALTER TABLE servers_v1 RENAME TO servers;
            CREATE TABLE server_hosts (
                host TEXT PRIMARY KEY,
                server_id TEXT NOT NULL);
            PRAGMA user_version = 1;
            """, transaction);
        transaction.Commit();
    }

    private static void AddColumnIfMissing(DbConnection connection, string column, string definition)
    {
        if (Scalar(connection, "SELECT COUNT(*) FROM pragma_table_info('servers') WHERE name = @name", null,
                ("@name", column)) == 0)
        {
            Execute(connection, $"ALTER TABLE servers ADD COLUMN {column} {definition}");
        }
    }
}
