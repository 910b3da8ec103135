// The registry answers lookups from memory: an agent's hello never waits on SQLite, even while the
// database is locked by a writer, and every write shows at once.
using Gray.Relay;
using Microsoft.Data.Sqlite;

namespace Gray.Tests.Relay;

public class RegistryTests
{
    [Fact]
    public void Lookups_never_wait_on_the_database_and_writes_show_at_once()
    {
        string dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        var options = new RelayOptions { PortLow = 41000, PortHigh = 41999 };
        using var registry = Registry.Open(dir, options);
        var added = registry.Add("web");

        // Another process (here: another connection) holds the database with an exclusive lock.
        using var other = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir, Registry.FileName), Pooling = false, DefaultTimeout = 1,
        }.ToString());
        other.Open();
        using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }

        Assert.Equal(added, registry.Find("web")); // a query would fail with "database is locked"
        Assert.Null(registry.Find("nobody"));
        Assert.Equal([added], registry.List());
        using (var rollback = other.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }

        Assert.True(registry.Delete("web"));
        Assert.Null(registry.Find("web"));
        var again = registry.Add("web");
        Assert.Equal(again, registry.Find("web"));
        Assert.NotEqual(added.Secret, again.Secret);
    }
}
