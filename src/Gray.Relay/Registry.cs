// The registry of servers, persisted in SQLite in the data directory: each ID with its secret and its two
// ports, allocated from the port range. Reads come from a copy in memory, so that an agent's hello never
// waits on the database on a socket thread; every write updates the copy after SQLite.
using System.Net;
using System.Net.Sockets;
using Gray.Protocol;
using Microsoft.Data.Sqlite;

namespace Gray.Relay;

/// <param name="ClientPort">The server's own public port; null for a server reached only by its host names.</param>
public sealed record ServerEntry(string Id, string Secret, int? ClientPort, int DataPort, DateTimeOffset CreatedAt)
{
    /// <summary>Names that reach it on the relay's shared HTTP and TLS ports (HostRouting), in lower case.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>Limits set through the API; they win over the relay file's until cleared.</summary>
    public Bandwidth? BandwidthOverride { get; init; }

    /// <summary>What the client port carries: TCP, UDP, or both on the same number.</summary>
    public ServerProtocols Protocols { get; init; } = ServerProtocols.Tcp;
}

/// <summary>What a server's client port carries.</summary>
[Flags]
public enum ServerProtocols
{
    Tcp = 1,
    Udp = 2,
}

public class RegistryException(string message) : Exception(message);

/// <summary>What making a declared server match its file took.</summary>
public enum DeclareOutcome
{
    Unchanged,

    /// <summary>Only its host names changed: updated in place, its agent's session kept.</summary>
    HostsChanged,

    /// <summary>Added, or registered again (a new secret, port or type: its agent must reconnect).</summary>
    Registered,
}

/// <summary>The registry has no server of that ID.</summary>
public sealed class UnknownServerException(string id) : RegistryException($"no server '{id}'");

public sealed partial class Registry : IDisposable
{
    public const string FileName = "registry.db";

    private readonly object _gate = new();
    private readonly SqliteConnection _connection;
    private readonly RelayOptions _options;
    private volatile IReadOnlyDictionary<string, ServerEntry> _entries = new Dictionary<string, ServerEntry>();

    private Registry(SqliteConnection connection, RelayOptions options)
    {
        _connection = connection;
        _options = options;
    }

    public static Registry Open(string dataDir, RelayOptions options)
    {
        SqliteLibrary.EnsureBound();
        string path = Path.Combine(dataDir, FileName);
        if (!File.Exists(path)) DataDirectory.WritePrivate(path, "");
        var connection = new SqliteConnection(
            new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        var registry = new Registry(connection, options);
        registry.Execute("""
            PRAGMA journal_mode = DELETE;
            CREATE TABLE IF NOT EXISTS servers (
                id TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                client_port INTEGER NOT NULL UNIQUE,
                data_port INTEGER NOT NULL UNIQUE,
                created_at TEXT NOT NULL);
            """);
        registry.AddDeclaredColumn();
        registry.AddBandwidthColumn();
        registry.AddProtocolsColumn();
        registry.Migrate();
        registry.CreateTokenTable();
        registry.LoadEntries();
        registry.LoadTokens();
        return registry;
    }

    public IReadOnlyList<ServerEntry> List() => [.. _entries.Values.OrderBy(e => e.Id, StringComparer.Ordinal)];

    /// <summary>From memory: never touches the database.</summary>
    public ServerEntry? Find(string id) => _entries.GetValueOrDefault(id);

    // The copy in memory, read again after every write (writes are rare: admin commands and reloads).
    private void LoadEntries()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText =
                "SELECT id, secret, client_port, data_port, created_at, bandwidth, protocols FROM servers";
            using var reader = command.ExecuteReader();
            var entries = new Dictionary<string, ServerEntry>(StringComparer.Ordinal);
            while (reader.Read())
            {
                var entry = Read(reader);
                entries[entry.Id] = entry;
            }

            var claims = ReadHosts();
            foreach (var group in claims.GroupBy(c => c.ServerId))
            {
                if (entries.TryGetValue(group.Key, out var entry))
                {
                    entries[group.Key] = entry with
                    {
                        Hosts = [.. group.Select(c => c.Host).Order(StringComparer.Ordinal)],
                    };
                }
            }

            _entries = entries;
            Hosts = HostRouting.HostTable.From(claims.Where(c => entries.ContainsKey(c.ServerId)));
        }
    }

    /// <summary>
    /// Registers <paramref name="id"/> with a new secret and two ports (given, or the lowest free ones). A
    /// server with <paramref name="hosts"/> and no <paramref name="clientPort"/> gets no client port of its
    /// own (unless it carries UDP): the shared ports reach it by name.
    /// </summary>
    public ServerEntry Add(string id, int? clientPort = null, int? dataPort = null,
        ServerProtocols protocols = ServerProtocols.Tcp, IReadOnlyCollection<string>? hosts = null)
    {
        if (!Auth.IsValidId(id))
        {
            throw new RegistryException($"invalid id '{id}': use 1 to {Wire.MaxIdBytes} of A-Z a-z 0-9 . _ -");
        }
        lock (_gate)
        {
            if (Find(id) is not null) throw new RegistryException($"server '{id}' already exists");
            string[] claimed = CheckClaims(id, hosts ?? []);
            var used = List().SelectMany(e => new[] { e.ClientPort ?? 0, e.DataPort }).ToHashSet();
            used.Add(_options.Control.Port);
            bool byNameOnly = claimed.Length > 0 && clientPort is null && !protocols.HasFlag(ServerProtocols.Udp);
            // An allocated client port must not take the data port asked for (a declared server keeps its own).
            int? client = clientPort is { } c ? Claim(c, used, "client")
                : byNameOnly ? null
                : Allocate(dataPort is { } wanted ? [.. used, wanted] : used);
            used.Add(client ?? 0);
            int data = dataPort is { } d ? Claim(d, used, "data") : Allocate(used);
            var entry = new ServerEntry(id, Auth.NewSecret(), client, data, DateTimeOffset.UtcNow)
            {
                Protocols = protocols,
                Hosts = claimed,
            };
            using var transaction = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO servers (id, secret, client_port, data_port, created_at, protocols) " +
                "VALUES ($id, $secret, $client, $data, $created, $protocols)";
            command.Parameters.AddWithValue("$protocols", (int)protocols);
            command.Parameters.AddWithValue("$id", entry.Id);
            command.Parameters.AddWithValue("$secret", entry.Secret);
            command.Parameters.AddWithValue("$client", (object?)entry.ClientPort ?? DBNull.Value);
            command.Parameters.AddWithValue("$data", entry.DataPort);
            command.Parameters.AddWithValue("$created", entry.CreatedAt.ToString("O"));
            command.ExecuteNonQuery();
            InsertHosts(id, claimed);
            transaction.Commit();
            LoadEntries();
            return Find(id)!;
        }
    }

    /// <summary>IDs registered from the config file (they are managed by it, not by `gray admin`).</summary>
    public IReadOnlySet<string> DeclaredIds()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT id FROM servers WHERE declared = 1";
            using var reader = command.ExecuteReader();
            var ids = new HashSet<string>();
            while (reader.Read()) ids.Add(reader.GetString(0));
            return ids;
        }
    }

    /// <summary>Makes a declared server's entry match the file, and says what that took.</summary>
    public DeclareOutcome Declare(DeclaredServer server)
    {
        lock (_gate)
        {
            var current = Find(server.Id);
            bool sameSecret = current?.Secret == server.Secret;
            bool samePorts = current is not null && (server.ClientPort ?? current.ClientPort) == current.ClientPort
                && (server.DataPort ?? current.DataPort) == current.DataPort;
            string[] hosts =
                [.. server.Hosts.Select(HostRouting.HostName.NormalizeClaim).Order(StringComparer.Ordinal)];
            if (current is not null && sameSecret && samePorts && current.Protocols == server.Protocols
                && IsDeclared(server.Id))
            {
                if (current.Hosts.SequenceEqual(hosts)) return DeclareOutcome.Unchanged;
                // Names alone changed: the entry and its agent's session stay (unless it needs a port now).
                if (hosts.Length > 0 || current.ClientPort is not null)
                {
                    SetHosts(server.Id, hosts);
                    return DeclareOutcome.HostsChanged;
                }
            }

            if (current is not null) Delete(server.Id);
            var added = Add(server.Id, server.ClientPort ?? (samePorts ? current?.ClientPort : null),
                server.DataPort ?? (samePorts ? current?.DataPort : null), server.Protocols, server.Hosts);
            using var command = _connection.CreateCommand();
            command.CommandText = "UPDATE servers SET secret = $secret, declared = 1 WHERE id = $id";
            command.Parameters.AddWithValue("$secret", server.Secret);
            command.Parameters.AddWithValue("$id", added.Id);
            command.ExecuteNonQuery();
            LoadEntries();
            return DeclareOutcome.Registered;
        }
    }

    private bool IsDeclared(string id)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT declared FROM servers WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L) == 1;
    }

    private void AddDeclaredColumn()
    {
        using var check = _connection.CreateCommand();
        check.CommandText = "SELECT COUNT(*) FROM pragma_table_info('servers') WHERE name = 'declared'";
        if (Convert.ToInt64(check.ExecuteScalar()) == 0)
        {
            Execute("ALTER TABLE servers ADD COLUMN declared INTEGER NOT NULL DEFAULT 0");
        }
    }

    public bool Delete(string id)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM server_hosts WHERE server_id = $id; DELETE FROM servers WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            bool deleted = command.ExecuteNonQuery() > 0;
            LoadEntries();
            return deleted;
        }
    }

    public void Dispose() => _connection.Dispose();

    private static ServerEntry Read(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt32(2),
            reader.GetInt32(3),
            DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture))
        {
            BandwidthOverride = reader.IsDBNull(5) ? null : Bandwidth.FromColumn(reader.GetString(5)),
            Protocols = (ServerProtocols)reader.GetInt32(6),
        };

    private int Claim(int port, HashSet<int> used, string what)
    {
        if (port is <= 0 or > 65535) throw new RegistryException($"{what} port {port} is not a port number");
        if (used.Contains(port)) throw new RegistryException($"{what} port {port} is already taken");
        return port;
    }

    // The lowest port in the range that no entry holds and that nothing else is bound to now.
    private int Allocate(HashSet<int> used)
    {
        for (int port = _options.PortLow; port <= _options.PortHigh; port++)
        {
            if (!used.Contains(port) && IsBindable(port)) return port;
        }

        throw new RegistryException($"no free port left in {_options.PortLow}-{_options.PortHigh}");
    }

    private bool IsBindable(int port)
    {
        IPAddress address = _options.EffectivePublicBind;
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
