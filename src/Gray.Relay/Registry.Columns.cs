// Columns added to the servers table after its first version: the bandwidth limits set through the API (four
// rates) and the protocols of the client port.
namespace Gray.Relay;

public sealed partial class Registry
{
    /// <summary>Sets (or, with null, clears) <paramref name="id"/>'s limits; false if there is no such
    /// server.</summary>
    public bool SetBandwidth(string id, Bandwidth? bandwidth)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "UPDATE servers SET bandwidth = $bandwidth WHERE id = $id";
            command.Parameters.AddWithValue("$bandwidth", (object?)bandwidth?.ToColumn() ?? DBNull.Value);
            command.Parameters.AddWithValue("$id", id);
            bool updated = command.ExecuteNonQuery() > 0;
            LoadEntries();
            return updated;
        }
    }

    private void AddProtocolsColumn()
    {
        using var check = _connection.CreateCommand();
        check.CommandText = "SELECT COUNT(*) FROM pragma_table_info('servers') WHERE name = 'protocols'";
        if (Convert.ToInt64(check.ExecuteScalar()) == 0)
        {
            Execute("ALTER TABLE servers ADD COLUMN protocols INTEGER NOT NULL DEFAULT 1"); // TCP
        }
    }

    private void AddBandwidthColumn()
    {
        using var check = _connection.CreateCommand();
        check.CommandText = "SELECT COUNT(*) FROM pragma_table_info('servers') WHERE name = 'bandwidth'";
        if (Convert.ToInt64(check.ExecuteScalar()) == 0) Execute("ALTER TABLE servers ADD COLUMN bandwidth TEXT");
    }
}
