// The registry of servers: each ID with its secret and its two ports, allocated from the port range, in
// SQLite in the data directory or in PostgreSQL shared by a cluster (RegistryStore). Reads come from a copy
// in memory, so that an agent's hello never waits on the database on a socket thread; every write updates
// the copy after the store, and a cluster node reads it again when another node writes.
using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using Gray.Protocol;

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

    /// <summary>New clients are refused (on every node of a cluster); running pairs go on.</summary>
    public bool Drained { get; init; }

    /// <summary>Registered from the relay file (managed by it, not by `gray admin`).</summary>
    public bool Declared { get; init; }
}

/// <summary>What a server's client port carries.</summary>
[Flags]
public enum ServerProtocols
{
    Tcp = 1,
    Udp = 2,
}

public class RegistryException(string message) : Exception(message)
{
    /// <summary>The store at <paramref name="location"/> failed (away, or a constraint another node hit first).
    /// </summary>
    public static RegistryException From(string location, Exception error) =>
        new($"registry {location}: {error.Message}");
}

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
    private readonly RegistryStore _store;
    private readonly RelayOptions _options;
    private volatile IReadOnlyDictionary<string, ServerEntry> _entries = new Dictionary<string, ServerEntry>();

    private Registry(RegistryStore store, RelayOptions options)
    {
        _store = store;
        _options = options;
    }

    /// <summary>Opens the registry <see cref="RelayOptions.Registry"/> names (SQLite in
    /// <paramref name="dataDir"/> by default) and brings its schema up to date.</summary>
    public static Registry Open(string dataDir, RelayOptions options)
    {
        var store = RegistryStore.From(options.Registry, dataDir);
        try
        {
            store.Migrate();
            var registry = new Registry(store, options);
            registry.Reload();
            return registry;
        }
        catch (Exception error)
        {
            store.Dispose();
            if (error is DbException) throw RegistryException.From(store.Description, error);
            throw;
        }
    }

    /// <summary>Checks a registry location (registry:, GRAY_REGISTRY) without connecting.</summary>
    /// <exception cref="Gray.Hosting.ConfigException">It is none of the forms a registry takes.</exception>
    public static string CheckLocation(string location)
    {
        if (RegistryStore.NamesPostgres(location)) PostgresLocation.ConnectionString(location);
        return location;
    }

    /// <summary>A registry location as settings show it: a password in it masked.</summary>
    public static string Redact(string location) => PostgresLocation.Redact(location);

    /// <summary>Where the registry is (no password).</summary>
    public string Location => _store.Description;

    /// <summary>True when it is shared by the nodes of a cluster (PostgreSQL).</summary>
    public bool IsShared => _store is PostgresRegistryStore;

    internal RegistryStore Store => _store;

    /// <summary>Reads every server and token again (another node wrote, or the store is back).</summary>
    /// <exception cref="DbException">The store cannot be read now; the copy in memory stays.</exception>
    public void Reload()
    {
        lock (_gate)
        {
            using var connection = _store.Open();
            LoadEntries(connection);
            LoadTokens(connection);
        }
    }

    public IReadOnlyList<ServerEntry> List() => [.. _entries.Values.OrderBy(e => e.Id, StringComparer.Ordinal)];

    /// <summary>From memory: never touches the database.</summary>
    public ServerEntry? Find(string id) => _entries.GetValueOrDefault(id);

    // The copy in memory, read again after every write (writes are rare: admin commands and reloads).
    private void LoadEntries(DbConnection connection)
    {
        var entries = new Dictionary<string, ServerEntry>(StringComparer.Ordinal);
        using (var command = RegistryStore.Command(connection, "SELECT id, secret, client_port, data_port, " +
                   "created_at, bandwidth, protocols, drained, declared FROM servers"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var entry = Read(reader);
                entries[entry.Id] = entry;
            }
        }

        var claims = ReadHosts(connection);
        foreach (var group in claims.GroupBy(c => c.ServerId))
        {
            if (entries.TryGetValue(group.Key, out var entry))
            {
                entries[group.Key] =
                    entry with { Hosts = [.. group.Select(c => c.Host).Order(StringComparer.Ordinal)] };
            }
        }

        _entries = entries;
        Hosts = HostRouting.HostTable.From(claims.Where(c => entries.ContainsKey(c.ServerId)));
    }

    /// <summary>
    /// One write: in a transaction the store announces to the other nodes, then the copy in memory is read
    /// again. The store's own errors (PostgreSQL away, a port taken meanwhile by another node) become
    /// <see cref="RegistryException"/>s.
    /// </summary>
    private T Write<T>(Func<DbConnection, DbTransaction, T> write)
    {
        lock (_gate)
        {
            try
            {
                using var connection = _store.Open();
                T result;
                using (var transaction = connection.BeginTransaction())
                {
                    result = write(connection, transaction);
                    _store.Announce(connection, transaction);
                    transaction.Commit();
                }

                LoadEntries(connection);
                LoadTokens(connection);
                return result;
            }
            catch (DbException error)
            {
                throw RegistryException.From(Location, error);
            }
        }
    }

    /// <summary>
    /// Registers <paramref name="id"/> with a new secret and two ports (given, or the lowest free ones). A
    /// server with <paramref name="hosts"/> and no <paramref name="clientPort"/> gets no client port of its
    /// own (unless it carries UDP): the shared ports reach it by name.
    /// </summary>
    public ServerEntry Add(string id, int? clientPort = null, int? dataPort = null,
        ServerProtocols protocols = ServerProtocols.Tcp, IReadOnlyCollection<string>? hosts = null) =>
        Register(id, clientPort, dataPort, protocols, hosts, secret: null, declared: false, replace: false);

    // With replace, an entry of that ID goes in the same transaction (other nodes never see it missing), and
    // its limits set through the API and its drain stay.
    private ServerEntry Register(string id, int? clientPort, int? dataPort, ServerProtocols protocols,
        IReadOnlyCollection<string>? hosts, string? secret, bool declared, bool replace)
    {
        var replaced = replace ? Find(id) : null;
        if (!Auth.IsValidId(id))
        {
            throw new RegistryException($"invalid id '{id}': use 1 to {Wire.MaxIdBytes} of A-Z a-z 0-9 . _ -");
        }
        lock (_gate)
        {
            if (!replace && Find(id) is not null) throw new RegistryException($"server '{id}' already exists");
            string[] claimed = CheckClaims(id, hosts ?? []);
            var used = List().Where(e => e.Id != id).SelectMany(e => new[] { e.ClientPort ?? 0, e.DataPort })
                .ToHashSet();
            used.Add(_options.Control.Port);
            bool byNameOnly = claimed.Length > 0 && clientPort is null && !protocols.HasFlag(ServerProtocols.Udp);
            // An allocated client port must not take the data port asked for (a declared server keeps its own).
            int? client = clientPort is { } c ? Claim(c, used, "client")
                : byNameOnly ? null
                : Allocate(dataPort is { } wanted ? [.. used, wanted] : used);
            used.Add(client ?? 0);
            int data = dataPort is { } d ? Claim(d, used, "data") : Allocate(used);
            var entry = new ServerEntry(id, secret ?? Auth.NewSecret(), client, data, DateTimeOffset.UtcNow);
            Write((connection, transaction) =>
            {
                if (replace) DeleteRows(connection, transaction, id);
                RegistryStore.Execute(connection, "INSERT INTO servers (id, secret, client_port, data_port, " +
                    "created_at, protocols, declared, bandwidth, drained) VALUES (@id, @secret, @client, @data, " +
                    "@created, @protocols, @declared, @bandwidth, @drained)", transaction, ("@id", entry.Id),
                    ("@secret", entry.Secret), ("@client", entry.ClientPort), ("@data", entry.DataPort),
                    ("@created", entry.CreatedAt.ToString("O")), ("@protocols", (int)protocols),
                    ("@declared", declared ? 1 : 0), ("@bandwidth", replaced?.BandwidthOverride?.ToColumn()),
                    ("@drained", replaced?.Drained == true ? 1 : 0));
                InsertHosts(connection, transaction, id, claimed);
                return true;
            });
            return Find(id)!;
        }
    }

    public bool Delete(string id) => Write((connection, transaction) => DeleteRows(connection, transaction, id));

    private static bool DeleteRows(DbConnection connection, DbTransaction transaction, string id)
    {
        RegistryStore.Execute(connection, "DELETE FROM server_hosts WHERE server_id = @id", transaction, ("@id", id));
        return RegistryStore.Execute(connection, "DELETE FROM servers WHERE id = @id", transaction, ("@id", id)) > 0;
    }

    public void Dispose() => _store.Dispose();

    private static ServerEntry Read(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt32(2),
            reader.GetInt32(3),
            DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture))
        {
            BandwidthOverride = reader.IsDBNull(5) ? null : Bandwidth.FromColumn(reader.GetString(5)),
            Protocols = (ServerProtocols)reader.GetInt32(6),
            Drained = reader.GetInt32(7) != 0,
            Declared = reader.GetInt32(8) != 0,
        };

    private int Claim(int port, HashSet<int> used, string what)
    {
        if (port is <= 0 or > 65535) throw new RegistryException($"{what} port {port} is not a port number");
        if (used.Contains(port)) throw new RegistryException($"{what} port {port} is already taken");
        return port;
    }

    // The lowest port in the range that no entry holds and that nothing else is bound to here now (in a
    // cluster the registry's unique ports keep two nodes from taking the same one).
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
}
