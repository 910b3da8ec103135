// The registry in PostgreSQL behaves as in SQLite, and is shared: what one relay writes, another reads
// after a reload; relays starting together migrate the schema once.
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay;

[Collection(nameof(Postgres))]
public class PostgresRegistryTests(PostgresFixture postgres)
{
    private static RelayOptions Options(string url, int low) =>
        new() { Registry = url, PortLow = low, PortHigh = low + 99 };

    [PostgresFact]
    public async Task Servers_names_limits_drains_and_tokens_are_kept_and_shared()
    {
        string url = await postgres.DatabaseAsync();
        string dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        using var one = Registry.Open(dir, Options(url, 44100));
        using var two = Registry.Open(dir, Options(url, 44100));
        Assert.True(one.IsShared);
        Assert.DoesNotContain("password", one.Location, StringComparison.OrdinalIgnoreCase);

        var web = one.Add("web", hosts: ["app.example.org"]);
        Assert.Null(web.ClientPort);
        var ssh = one.Add("ssh", clientPort: 44150);
        Assert.True(one.SetBandwidth("ssh", new Bandwidth(1000, 2000, 0, 0)));
        Assert.True(one.SetDrained("ssh", true));
        var (token, text) = one.CreateToken(ApiScope.Read, "ci");
        Assert.False(File.Exists(Path.Combine(dir, Registry.FileName))); // no SQLite beside it

        Assert.Null(two.Find("web")); // the copy in memory, until read again
        // A connection string names the same registry as the URL.
        var url2 = new Uri(url);
        using var three = Registry.Open(dir, Options($"Host={url2.Host};Port={url2.Port};Username=" +
            $"{PostgresServer.User};Database={url2.AbsolutePath.Trim('/')}", 44100));
        Assert.Equal(web.Secret, three.Find("web")!.Secret);
        two.Reload();
        Assert.Equal(web.Secret, two.Find("web")!.Secret);
        Assert.Equal("web", two.Hosts.Find("app.example.org"));
        var sshThere = two.Find("ssh")!;
        Assert.Equal((44150, true, 2000L), (sshThere.ClientPort, sshThere.Drained, sshThere.BandwidthOverride!.Out));
        Assert.Equal(token, two.FindToken(text));

        // Ports are assigned once, in the shared registry: the other relay allocates around them.
        var db = two.Add("db");
        Assert.NotEqual(ssh.ClientPort, db.ClientPort);
        Assert.NotEqual(ssh.DataPort, db.DataPort);
        var clash = Assert.Throws<RegistryException>(() => one.Add("db2", clientPort: db.ClientPort));
        Assert.Contains("registry postgres://", clash.Message); // the store refused it: one's copy was old

        Assert.True(two.Delete("web"));
        one.Reload();
        Assert.Null(one.Find("web"));
        Assert.Null(one.Hosts.Find("app.example.org"));
    }

    [PostgresFact]
    public async Task Relays_starting_together_migrate_the_schema_once()
    {
        string url = await postgres.DatabaseAsync();
        string dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        var opened = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(_ => Task.Run(() => Registry.Open(dir, Options(url, 44200)))));
        foreach (var registry in opened) registry.Dispose();

        var server = await postgres.ServerAsync();
        string database = url[(url.LastIndexOf('/') + 1)..];
        Assert.Equal("2", await server.QueryAsync(database, "SELECT string_agg(version::text, ',') FROM gray_schema"));
        Assert.Equal("1", await server.QueryAsync(database, "SELECT COUNT(*) FROM gray_schema"));
    }

    [PostgresFact]
    public async Task A_registry_that_cannot_be_reached_is_a_clear_error()
    {
        string url = $"postgres://{PostgresServer.User}@127.0.0.1:{Gray.Testing.Ports.Free()}/nothing";
        var error = Assert.Throws<RegistryException>(() =>
            Registry.Open(Directory.CreateTempSubdirectory("gray-registry-").FullName, Options(url, 44300)));
        Assert.StartsWith("registry postgres://127.0.0.1:", error.Message);
    }

    [PostgresFact]
    public async Task Admin_migrate_copies_a_single_relays_registry_into_an_empty_one_and_only_into_an_empty_one()
    {
        string dir = Directory.CreateTempSubdirectory("gray-registry-").FullName;
        var sqliteOptions = new RelayOptions { PortLow = 44400, PortHigh = 44499 };
        ServerEntry web, ssh;
        string token;
        using (var single = Registry.Open(dir, sqliteOptions))
        {
            web = single.Add("web", hosts: ["app.example.org", "*.preview.example.org"]);
            ssh = single.Add("ssh", clientPort: 44422, protocols: ServerProtocols.Tcp | ServerProtocols.Udp);
            single.SetBandwidth("ssh", new Bandwidth(In: 5000));
            single.SetDrained("ssh", true);
            token = single.CreateToken(ApiScope.Admin, "ops").Token;
        }

        string url = await postgres.DatabaseAsync();
        string from = "sqlite:" + Path.Combine(dir, Registry.FileName);
        var (exitCode, output) = await GrayProcess.RunAsync(["admin", "migrate", "--from", from, "--to", url]);
        Assert.True(exitCode == 0, output);
        Assert.Contains("copied 2 servers and 1 tokens", output);

        using var cluster = Registry.Open(dir, Options(url, 44400));
        Assert.Equal((web.Secret, web.ClientPort, web.DataPort), cluster.Find("web") is { } w
            ? (w.Secret, w.ClientPort, w.DataPort) : default);
        Assert.Equal(["*.preview.example.org", "app.example.org"], cluster.Find("web")!.Hosts);
        var sshThere = cluster.Find("ssh")!;
        Assert.Equal((ssh.Secret, 44422, ServerProtocols.Tcp | ServerProtocols.Udp, true, 5000L),
            (sshThere.Secret, sshThere.ClientPort!.Value, sshThere.Protocols, sshThere.Drained,
                sshThere.BandwidthOverride!.In));
        Assert.Equal("ops", cluster.FindToken(token)!.Name);

        (exitCode, output) = await GrayProcess.RunAsync(["admin", "migrate", "--from", from, "--to", url]);
        Assert.Equal(2, exitCode);
        Assert.Contains("already holds 3 servers and tokens: migrate into an empty registry", output);
        (exitCode, output) = await GrayProcess.RunAsync(["admin", "migrate", "--from", "sqlite:/nonexistent/x.db",
            "--to", url]);
        Assert.Equal(2, exitCode);
        Assert.Contains("sqlite:/nonexistent/x.db: no such file", output);
    }
}
