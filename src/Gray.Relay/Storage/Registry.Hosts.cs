// The host names servers claim (HostRouting), one row per name so that the store itself refuses a name
// claimed twice.
using System.Data.Common;
using Gray.Relay.HostRouting;

namespace Gray.Relay;

public sealed partial class Registry
{
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

            return Write((connection, transaction) =>
            {
                RegistryStore.Execute(connection, "DELETE FROM server_hosts WHERE server_id = @id", transaction,
                    ("@id", id));
                InsertHosts(connection, transaction, id, claimed);
                return true;
            });
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

    private static void InsertHosts(DbConnection connection, DbTransaction transaction, string id,
        IEnumerable<string> hosts)
    {
        foreach (string host in hosts)
        {
            RegistryStore.Execute(connection, "INSERT INTO server_hosts (host, server_id) VALUES (@host, @id)",
                transaction, ("@host", host), ("@id", id));
        }
    }

    private static List<(string Host, string ServerId)> ReadHosts(DbConnection connection)
    {
        using var command = RegistryStore.Command(connection, "SELECT host, server_id FROM server_hosts");
        using var reader = command.ExecuteReader();
        var claims = new List<(string, string)>();
        while (reader.Read()) claims.Add((reader.GetString(0), reader.GetString(1)));
        return claims;
    }
}
