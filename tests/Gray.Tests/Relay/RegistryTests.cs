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

public class RegistryHostTests
{
    private static Registry Open(out string dir)
    {
        dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        return Registry.Open(dir, new RelayOptions { PortLow = 42000, PortHigh = 42999 });
    }

    [Fact]
    public void A_server_with_host_names_and_no_port_gets_none_and_its_names_route_to_it()
    {
        using var registry = Open(out _);
        var web = registry.Add("web", hosts: ["App.Example.org", "*.preview.example.org"]);
        Assert.Null(web.ClientPort);
        Assert.Equal(["*.preview.example.org", "app.example.org"], web.Hosts);
        var both = registry.Add("both", clientPort: 42500, hosts: ["both.example.org"]);
        Assert.Equal(42500, both.ClientPort);
        var plain = registry.Add("plain");
        Assert.NotNull(plain.ClientPort);

        Assert.Equal("web", registry.Hosts.Find("app.example.org"));
        Assert.Equal("web", registry.Hosts.Find("pr-7.preview.example.org"));
        Assert.Equal("both", registry.Hosts.Find("both.example.org"));
    }

    [Fact]
    public void A_name_claimed_twice_is_refused_and_a_deleted_server_frees_its_names()
    {
        using var registry = Open(out _);
        registry.Add("web", hosts: ["app.example.org"]);
        var error = Assert.Throws<RegistryException>(() => registry.Add("other", hosts: ["APP.example.org"]));
        Assert.Equal("host 'app.example.org' is already claimed by server 'web'", error.Message);
        Assert.Null(registry.Find("other")); // nothing half-added
        Assert.Throws<RegistryException>(() => registry.Add("bad", hosts: ["not a name"]));

        Assert.True(registry.Delete("web"));
        Assert.Null(registry.Hosts.Find("app.example.org"));
        Assert.Equal(["app.example.org"], registry.Add("other", hosts: ["app.example.org"]).Hosts);
    }

    [Fact]
    public void Host_names_change_later_and_a_server_without_a_port_keeps_at_least_one()
    {
        using var registry = Open(out _);
        registry.Add("web", hosts: ["a.example.org"]);
        registry.Add("other", hosts: ["b.example.org"]);
        Assert.True(registry.SetHosts("web", ["c.example.org", "d.example.org"]));
        Assert.Null(registry.Hosts.Find("a.example.org"));
        Assert.Equal("web", registry.Hosts.Find("d.example.org"));
        Assert.Throws<RegistryException>(() => registry.SetHosts("web", ["b.example.org"]));
        Assert.Equal(["c.example.org", "d.example.org"], registry.Find("web")!.Hosts); // unchanged on refusal
        Assert.Throws<RegistryException>(() => registry.SetHosts("web", []));
        Assert.False(registry.SetHosts("nobody", ["e.example.org"]));
    }

    [Fact]
    public void A_registry_of_the_first_schema_keeps_its_servers_and_gains_host_names()
    {
        string dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        SqliteLibrary.EnsureBound();
        using (var old = new SqliteConnection($"Data Source={Path.Combine(dir, Registry.FileName)};Pooling=False"))
        {
            old.Open();
            using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE servers (id TEXT PRIMARY KEY, secret TEXT NOT NULL,
                    client_port INTEGER NOT NULL UNIQUE, data_port INTEGER NOT NULL UNIQUE, created_at TEXT NOT NULL,
                    declared INTEGER NOT NULL DEFAULT 0, bandwidth TEXT, protocols INTEGER NOT NULL DEFAULT 1);
                INSERT INTO servers VALUES ('old', 'sEcReT', 42010, 42011, '2026-11-01T00:00:00.0000000+00:00', 0,
                    NULL, 3);
                """;
            create.ExecuteNonQuery();
        }

        var options = new RelayOptions { PortLow = 42000, PortHigh = 42999 };
        using (var registry = Registry.Open(dir, options))
        {
            var old = registry.Find("old")!;
            Assert.Equal(("sEcReT", 42010, 42011, ServerProtocols.Tcp | ServerProtocols.Udp),
                (old.Secret, old.ClientPort, old.DataPort, old.Protocols));
            Assert.True(registry.SetHosts("old", ["old.example.org"]));
        }

        using var again = Registry.Open(dir, options); // migrated once; opening again changes nothing
        Assert.Equal(["old.example.org"], again.Find("old")!.Hosts);
        Assert.Equal(42010, again.Find("old")!.ClientPort);
    }
}

public class DeclaredHostTests
{
    [Fact]
    public void A_declared_servers_names_change_in_place_and_a_port_change_registers_it_again()
    {
        string dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        using var registry = Registry.Open(dir, new RelayOptions { PortLow = 43000, PortHigh = 43999 });
        const string Secret = "a-secret-of-enough-length-0123456789";
        var web = new DeclaredServer("web", Secret, null, null) { Hosts = ["a.example.org"] };
        Assert.Equal(DeclareOutcome.Registered, registry.Declare(web));
        var first = registry.Find("web")!;
        Assert.Equal(DeclareOutcome.Unchanged, registry.Declare(web));

        Assert.Equal(DeclareOutcome.HostsChanged, registry.Declare(web with { Hosts = ["b.example.org"] }));
        var renamed = registry.Find("web")!;
        Assert.Equal((first.CreatedAt, first.DataPort), (renamed.CreatedAt, renamed.DataPort)); // the same entry
        Assert.Equal(["b.example.org"], renamed.Hosts);
        Assert.Equal("web", registry.Hosts.Find("b.example.org"));

        // No names and no port: it needs a port now, so it is registered again.
        Assert.Equal(DeclareOutcome.Registered, registry.Declare(web with { Hosts = [] }));
        Assert.NotNull(registry.Find("web")!.ClientPort);

        // Registered again with a new secret: its API limits and its drain stay, its ports too.
        registry.SetBandwidth("web", new Bandwidth(Out: 4096));
        registry.SetDrained("web", true);
        var before = registry.Find("web")!;
        Assert.Equal(DeclareOutcome.Registered, registry.Declare(web with
        {
            Secret = "another-secret-of-enough-length-0123", Hosts = [],
        }));
        var after = registry.Find("web")!;
        Assert.Equal(("another-secret-of-enough-length-0123", before.ClientPort, before.DataPort, 4096L, true),
            (after.Secret, after.ClientPort, after.DataPort, after.BandwidthOverride!.Out, after.Drained));
    }
}
