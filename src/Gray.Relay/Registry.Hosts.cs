// The host names servers claim (HostRouting), one row per name so that SQLite itself refuses a name
// claimed twice, and the schema's versioned migrations (PRAGMA user_version).
using Gray.Relay.HostRouting;
using Microsoft.Data.Sqlite;

namespace Gray.Relay;

public sealed partial class Registry
{
    /// <summary>The schema this build writes; each step below moves a registry one version up.</summary>
    private const int SchemaVersion = 1;

    private volatile HostTable _hosts = HostTable.Empty;

    /// <summary>Every server's host names, for routing on the shared ports (from memory).</summary>
    public HostTable Hosts
    {
        get => _hosts;
        private set => _hosts = value;
    }

    /// <summary>Replaces <paramref name="id"/>'s host names; false if there is no such server.</summary>
    /// <exception cref="RegistryException">A name is invalid or another server holds it.</exception>
    public bool SetHosts(string id, IReadOnlyCollection<string> hosts)
    {
        lock (_gate)
        {
            if (Find(id) is not { } entry) return false;
            string[] claimed = CheckClaims(id, hosts);
            if (claimed.Length == 0 && entry.ClientPort is null)
            {
                throw new RegistryException($"server '{id}' has no client port: it needs at least one host name");
            }

            using var transaction = _connection.BeginTransaction();
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "DELETE FROM server_hosts WHERE server_id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.ExecuteNonQuery();
            }

            InsertHosts(id, claimed);
            transaction.Commit();
            LoadEntries();
            return true;
        }
    }

    // Normalized, each once, none held by another server.
    private string[] CheckClaims(string id, IReadOnlyCollection<string> hosts)
    {
        string[] claimed;
        try
        {
            claimed = [.. hosts.Select(HostName.NormalizeClaim).Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)];
        }
        catch (FormatException error)
        {
            throw new RegistryException($"host {error.Message}");
        }

        foreach (string host in claimed)
        {
            if (Hosts.Holder(host) is { } holder && holder != id)
                throw new RegistryException($"host '{host}' is already claimed by server '{holder}'");
        }

        return claimed;
    }

    private void InsertHosts(string id, IEnumerable<string> hosts)
    {
        foreach (string host in hosts)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO server_hosts (host, server_id) VALUES ($host, $id)";
            command.Parameters.AddWithValue("$host", host);
            command.Parameters.AddWithValue("$id", id);
            command.ExecuteNonQuery();
        }
    }

    private List<(string Host, string ServerId)> ReadHosts()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT host, server_id FROM server_hosts";
        using var reader = command.ExecuteReader();
        var claims = new List<(string, string)>();
        while (reader.Read()) claims.Add((reader.GetString(0), reader.GetString(1)));
        return claims;
    }

    // Version 1: a server's client port may be absent (host names only), and host names get their table.
    // SQLite cannot drop NOT NULL in place, so the table is rebuilt with its rows. One transaction, so that
    // a relay stopped halfway starts again from version 0.
    private void Migrate()
    {
        long version;
        using (var check = _connection.CreateCommand())
        {
            check.CommandText = "PRAGMA user_version";
            version = Convert.ToInt64(check.ExecuteScalar());
        }

        if (version > SchemaVersion)
        {
            throw new RegistryException($"the registry's schema is version {version}, newer than this relay's " +
                $"({SchemaVersion}): run the newer gray, or restore a backup");
        }

        if (version >= 1) return;
        using var transaction = _connection.BeginTransaction();
        Execute("""
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
            """);
        transaction.Commit();
    }
}
