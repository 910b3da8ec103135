// `gray admin migrate`: a single relay's registry copied into another store (SQLite into a cluster's
// PostgreSQL), row for row: the same secrets, ports, names, limits, drains and tokens.
using System.Data.Common;

namespace Gray.Relay;

public static class RegistryCopy
{
    /// <summary>Tables and their columns, in the order rows must go in (names after their servers).</summary>
    private static readonly (string Table, string[] Columns)[] Tables =
    [
        ("servers", ["id", "secret", "client_port", "data_port", "created_at", "declared", "bandwidth", "protocols",
            "drained"]),
        ("server_hosts", ["host", "server_id"]),
        ("tokens", ["hash", "id", "scope", "name", "created_at"]),
    ];

    /// <summary>Copies every row of <paramref name="from"/> into <paramref name="to"/> (both brought to this
    /// build's schema first), in one transaction; returns the servers and tokens copied.</summary>
    /// <exception cref="RegistryException">A store cannot be opened, or the target already holds servers or
    /// tokens (nothing is then written).</exception>
    public static (int Servers, int Tokens) Copy(string from, string to, string dataDir)
    {
        if (from.StartsWith("sqlite:", StringComparison.Ordinal) && !File.Exists(from["sqlite:".Length..]))
        {
            throw new RegistryException($"{from}: no such file");
        }

        using var source = RegistryStore.From(from, dataDir);
        using var target = RegistryStore.From(to, dataDir);
        try
        {
            source.Migrate();
            target.Migrate();
            using var read = source.Open();
            using var write = target.Open();
            using var transaction = write.BeginTransaction();
            long present = RegistryStore.Scalar(write, "SELECT (SELECT COUNT(*) FROM servers) + " +
                "(SELECT COUNT(*) FROM tokens)", transaction);
            if (present > 0)
            {
                throw new RegistryException($"{target.Description} already holds {present} servers and tokens: " +
                    "migrate into an empty registry");
            }

            var copied = new Dictionary<string, int>();
            foreach (var (table, columns) in Tables) copied[table] = CopyTable(read, write, transaction, table, columns);
            target.Announce(write, transaction);
            transaction.Commit();
            return (copied["servers"], copied["tokens"]);
        }
        catch (DbException error)
        {
            throw new RegistryException($"migrate: {error.Message}");
        }
    }

    private static int CopyTable(DbConnection read, DbConnection write, DbTransaction transaction, string table,
        string[] columns)
    {
        string list = string.Join(", ", columns);
        string values = string.Join(", ", columns.Select(c => "@" + c));
        using var select = RegistryStore.Command(read, $"SELECT {list} FROM {table}");
        using var reader = select.ExecuteReader();
        int rows = 0;
        while (reader.Read())
        {
            var row = columns.Select((c, i) => ("@" + c, reader.IsDBNull(i) ? null : reader.GetValue(i))).ToArray();
            // SQLite's integers are 64-bit; the target's integer columns take 32.
            for (int i = 0; i < row.Length; i++)
            {
                if (row[i].Item2 is long value) row[i].Item2 = checked((int)value);
            }

            RegistryStore.Execute(write, $"INSERT INTO {table} ({list}) VALUES ({values})", transaction, row);
            rows++;
        }

        return rows;
    }
}
