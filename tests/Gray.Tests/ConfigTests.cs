// The relay's YAML file: the shipped example is valid, and its settings land where they should.
using Gray.Cli;
using Gray.Hosting;
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ConfigTests
{
    [Fact]
    public void The_example_relay_yaml_in_deploy_is_valid_and_read_as_written()
    {
        string root = Repository.Root;
        var options = new RelayOptions();
        RelayConfigFile.Apply(Path.Combine(root, "deploy", "relay.yaml"), options);

        Assert.Equal("/var/lib/gray", options.DataDir);
        Assert.Equal(1000, options.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(30), options.PingTimeout);
        Assert.Equal(TimeSpan.FromHours(1), options.DefaultRules.PairIdleTimeout);
        Assert.Equal(TimeSpan.FromHours(2), options.RulesFor("ssh").PairIdleTimeout);
        Assert.Equal(["198.51.100.0/24", "2001:db8::/32"], options.RulesFor("ssh").ClientAllow);
        Assert.Equal(32, options.RulesFor("web").MaxPool);
        Assert.Equal(256, options.RulesFor("other").MaxPool);
    }

    [Fact]
    public void Data_port_separate_applies_to_every_server_or_one_and_the_http_section_is_read()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("gray-config-").FullName, "relay.yaml");
        File.WriteAllText(file, "data_port: separate\nhttp: { listen: 0.0.0.0:8443, tls: true, open: [metrics] }\n" +
            "servers:\n  db: { data_port: separate }\n");
        var options = new RelayOptions();
        RelayConfigFile.Apply(file, options);
        Assert.True(options.RulesFor("any").SeparateDataPort);
        Assert.True(options.RulesFor("db").SeparateDataPort);
        Assert.Equal(8443, options.HttpListen!.Port);
        Assert.True(options.HttpTls);
        Assert.Equal(["metrics"], options.HttpOpen);

        File.WriteAllText(file, "max_pool: 8\ndata_port: sideways\n");
        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(file, new RelayOptions()));
        Assert.Contains(":2", error.Message);
        Assert.Contains("neither control nor separate", error.Message);
        File.WriteAllText(file, "http: { open: [dashboard] }\n");
        error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(file, new RelayOptions()));
        Assert.Contains("none of metrics, healthz, readyz", error.Message);
    }

    [Fact]
    public void The_example_agent_yaml_in_deploy_is_valid()
    {
        string root = Repository.Root;
        string secrets = Directory.CreateTempSubdirectory("gray-agent-example-").FullName;
        string file = Path.Combine(secrets, "agent.yaml");
        File.WriteAllText(Path.Combine(secrets, "web.secret"), "s3cret\n");
        File.WriteAllText(file, File.ReadAllText(Path.Combine(root, "deploy", "agent.yaml"))
            .Replace("/etc/gray/web.secret", "web.secret"));
        Environment.SetEnvironmentVariable("GRAY_SSH_SECRET", "other");
        var tunnels = AgentConfig.Load(file, Path.Combine(secrets, "known_relays"));
        Assert.Equal(["web", "ssh"], tunnels.Select(t => t.Id));
        Assert.Equal("s3cret", tunnels[0].Secret);
        Assert.True(tunnels[0].Mux);
        Assert.True(tunnels[1].PlainData);
        Assert.Equal(22, tunnels[1].Target.Port);
    }

    [Theory]
    [InlineData("ping_interval: 10", 10.0)]
    [InlineData("ping_interval: 250ms", 0.25)]
    [InlineData("ping_interval: 2m", 120.0)]
    [InlineData("ping_interval: 1h", 3600.0)]
    public void Durations_take_units(string line, double seconds)
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("gray-duration-").FullName, "gray.yaml");
        File.WriteAllText(file, line + "\n");
        var options = new RelayOptions();
        RelayConfigFile.Apply(file, options);
        Assert.Equal(TimeSpan.FromSeconds(seconds), options.PingInterval);
    }

    [Fact]
    public void A_bad_network_in_a_rule_names_its_setting()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("gray-rule-").FullName, "gray.yaml");
        File.WriteAllText(file, "servers:\n  web:\n    client_deny: [not-a-network]\n");
        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(file, new RelayOptions()));
        Assert.Contains("servers.web.", error.Message);
        Assert.Contains("not-a-network", error.Message);
    }
}

public class HostClaimConfigTests
{
    private static string Write(string text)
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("gray-hosts-").FullName, "gray.yaml");
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public void A_declared_server_claims_host_names_in_the_file()
    {
        var options = new RelayOptions();
        RelayConfigFile.Apply(Write("servers:\n  web:\n    secret: 'a-secret-of-enough-length-0123456789'\n" +
            "    hosts: [App.Example.org, '*.preview.example.org']\n"), options);
        Assert.Equal(["app.example.org", "*.preview.example.org"], options.Declared["web"].Hosts);
        Assert.Null(options.Declared["web"].ClientPort);
    }

    [Theory]
    [InlineData("    hosts: [not_a_name]\n", "servers.web.hosts: 'not_a_name' is not a host name")]
    [InlineData("    hosts: ['*.org']\n", "servers.web.hosts: '*.org': a wildcard needs at least two labels")]
    public void A_bad_claim_names_its_setting_and_line(string line, string message)
    {
        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(
            Write("servers:\n  web:\n    secret: 'a-secret-of-enough-length-0123456789'\n" + line),
            new RelayOptions()));
        Assert.Contains(message, error.Message);
        Assert.Contains("gray.yaml:4:", error.Message);
    }

    [Fact]
    public void A_server_takes_basic_authentication_and_a_host_header_for_the_http_entry_point()
    {
        string dir = Directory.CreateTempSubdirectory("gray-auth-").FullName;
        File.WriteAllText(Path.Combine(dir, "web.pass"), "from a file\n");
        string file = Path.Combine(dir, "gray.yaml");
        File.WriteAllText(file, "servers:\n  web:\n    http_auth: { user: alice, password_file: web.pass }\n" +
            "    host_header: internal.lan:8080\n");
        var options = new RelayOptions();
        RelayConfigFile.Apply(file, options);
        Assert.Equal(new HttpCredentials("alice", "from a file"), options.Servers["web"].HttpAuth);
        Assert.Equal("internal.lan:8080", options.Servers["web"].HostHeader);
        Assert.DoesNotContain("from a file", options.Servers["web"].HttpAuth!.ToString());
        string shown = RelayConfigDescription.Describe(options); // gray config show
        Assert.Matches("host_header: .?internal.lan:8080", shown);
        Assert.Contains("http_auth: {user: alice, password: '********'}", shown);
        Assert.DoesNotContain("from a file", shown);

        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(
            Write("servers:\n  web:\n    http_auth: { user: alice }\n"), new RelayOptions()));
        Assert.Contains("servers.web.http_auth: give one of password, password_file, password_env", error.Message);
        error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(
            Write("servers:\n  web:\n    host_header: 'not a name'\n"), new RelayOptions()));
        Assert.Contains("servers.web.host_header: 'not a name' is not a host name", error.Message);
    }

    [Fact]
    public void An_unquoted_wildcard_is_named_as_such_at_its_line()
    {
        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(
            Write("servers:\n  web:\n    secret: 'a-secret-of-enough-length-0123456789'\n" +
                "    hosts: [*.preview.example.org]\n"), new RelayOptions()));
        Assert.Contains("gray.yaml:4: '*.preview.example.org' reads as a YAML alias; quote it", error.Message);
    }

    [Fact]
    public void A_name_claimed_by_two_declared_servers_is_an_error_at_the_second()
    {
        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(Write(
            "servers:\n" +
            "  web: { secret: 'a-secret-of-enough-length-0123456789', hosts: [app.example.org] }\n" +
            "  api: { secret: 'a-secret-of-enough-length-0456789012', hosts: [APP.example.org] }\n"),
            new RelayOptions()));
        Assert.Contains("servers.api.hosts: 'app.example.org' is claimed by servers.web too", error.Message);
        Assert.Contains("gray.yaml:3:", error.Message);
    }
}

public class ConfigCommandTests
{
    [Fact]
    public async Task Config_check_names_the_line_of_each_error_and_show_prints_a_file_that_reads_back_the_same()
    {
        string dir = Directory.CreateTempSubdirectory("gray-config-cmd-").FullName;
        string bad = Path.Combine(dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "ping_interval: 10s\nmax_connections: 5\nno_such_setting: 1\nping_timeout: " +
            "soon\nservers:\n  web: { max_pool: 999 }\n");
        var (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "check", bad]);
        Assert.Equal(2, exitCode);
        // Every error, each with its line.
        Assert.Contains("bad.yaml:3: unknown setting 'no_such_setting'", output);
        Assert.Contains("bad.yaml:4: ping_timeout: 'soon' is not a duration", output);
        Assert.Contains("bad.yaml:6: servers.web.max_pool: must be 1-256", output);

        string good = Path.Combine(dir, "good.yaml");
        await File.WriteAllTextAsync(
            good, "max_connections: 321\nservers:\n  web: { max_pool: 9, client_deny: [10.0.0.0/8] }\n");
        (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "check", good]);
        Assert.Equal(0, exitCode);
        Assert.Contains("valid", output);

        (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "show", good]);
        Assert.Equal(0, exitCode);
        string shown = Path.Combine(dir, "shown.yaml");
        await File.WriteAllTextAsync(shown, output);
        var again = new RelayOptions();
        RelayConfigFile.Apply(shown, again); // the effective settings, read back
        Assert.Equal(321, again.MaxConnections);
        Assert.Equal(9, again.RulesFor("web").MaxPool);
        Assert.Equal(["10.0.0.0/8"], again.RulesFor("web").ClientDeny);

        // Agent files are checked as agent files.
        string agentFile = Path.Combine(dir, "agent.yaml");
        await File.WriteAllTextAsync(agentFile, "relay: 127.0.0.1:44555\ntunnels:\n  web: { target: 127.0.0.1:80 }\n");
        (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "check", agentFile]);
        Assert.Equal(2, exitCode);
        Assert.Contains("tunnels.web: give exactly one of secret, secret_file, secret_env", output);

        // Secrets of declared servers are masked.
        string declared = Path.Combine(dir, "declared.yaml");
        await File.WriteAllTextAsync(
            declared, "servers:\n  db: { secret: 'do-not-print-this-secret-0123456789', client_port: 21234 }\n");
        (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "show", declared]);
        Assert.Equal(0, exitCode);
        Assert.DoesNotContain("do-not-print-this-secret-0123456789", output);
        Assert.Contains("db: {secret: '********', client_port: 21234", output);
    }
}

public class PrecedenceTests
{
    [Fact]
    public async Task Environment_and_dot_env_override_the_file_and_never_each_other()
    {
        string dir = Directory.CreateTempSubdirectory("gray-precedence-").FullName;
        string file = Path.Combine(dir, "relay.yaml");
        await File.WriteAllTextAsync(
            file, "ping_interval: 10s\nmax_connections: 111\nhttp: { listen: 127.0.0.1:9000 }\n");
        await File.WriteAllTextAsync(Path.Combine(dir, ".env"),
            "# loaded as the seed loads it\nGRAY_MAX_CONNECTIONS=222\nexport GRAY_PING_TIMEOUT=\"44s\"\n");

        var (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "show", file],
            new Dictionary<string, string> { ["GRAY_PING_INTERVAL"] = "20s",
                ["GRAY_HTTP_LISTEN"] = "127.0.0.1:9100" }, workingDirectory: dir);
        Assert.Equal(0, exitCode);
        Assert.Contains("ping_interval: 20s", output);      // environment over file
        Assert.Contains("max_connections: 222", output);    // .env over file
        Assert.Contains("ping_timeout: 44s", output);       // .env over default
        Assert.Contains("http: {listen: '127.0.0.1:9100'", output);

        (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "show", file],
            new Dictionary<string, string> { ["GRAY_MAX_CONNECTIONS"] = "333" }, workingDirectory: dir);
        Assert.Contains("max_connections: 333", output);    // the real environment over .env
    }

    [Fact]
    public async Task The_agent_takes_its_secret_from_the_environment()
    {
        await using var echo = new Harness.EchoService();
        echo.Start();
        await using var relay = new Harness.TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("from-env");
        await using var agent = Harness.GrayProcess.Start(["agent"], new Dictionary<string, string>
        {
            ["GRAY_RELAY"] = $"127.0.0.1:{relay.ControlPort}", ["GRAY_ID"] = server.Id, ["GRAY_SECRET"] = server.Secret,
            ["GRAY_TARGET"] = echo.EndPoint.ToString(), ["GRAY_POOL"] = "2", ["GRAY_KNOWN_RELAYS"] = relay.KnownRelays,
        });
        await agent.WaitForLineAsync(l => l.Contains("is public on relay"), "agent serving");
        await AgentTests.AssertEchoAsync(server.ClientPort);
    }

    [Fact]
    public async Task The_agent_multiplexes_by_default_and_pools_when_told_not_to()
    {
        await using var echo = new Harness.EchoService();
        echo.Start();
        await using var relay = new Harness.TestRelay();
        await relay.StartAsync();
        (string Id, string[] Flags, Dictionary<string, string>? Environment, bool Mux)[] cases =
        [
            ("by-default", [], null, true),
            ("flag-off", ["--mux", "false"], null, false),
            ("env-off", [], new() { ["GRAY_MUX"] = "0" }, false),
            ("flag-over-env", ["--mux"], new() { ["GRAY_MUX"] = "0" }, true),
        ];
        foreach (var (id, flags, environment, mux) in cases)
        {
            var server = await relay.AddServerAsync(id);
            await relay.StartAgentAsync(server, echo.EndPoint, flags, environment: environment);
            var (exit, output) = await relay.AdminAsync("show", "--json");
            Assert.Equal(0, exit);
            var shown = System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("servers")
                .EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);
            Assert.Equal(mux, shown.GetProperty("agent").GetProperty("mux").GetBoolean());
            await AgentTests.AssertEchoAsync(server.ClientPort);
        }
    }
}

public class ClusterConfigTests
{
    [Fact]
    public async Task Cluster_settings_read_back_with_the_registry_password_masked()
    {
        string dir = Directory.CreateTempSubdirectory("gray-config-").FullName;
        string file = Path.Combine(dir, "relay.yaml");
        await File.WriteAllTextAsync(file, "registry: postgres://gray:do-not-print-1234@db.internal:5432/gray\n" +
            "cluster: { node_id: relay-1, advertise: 'relay-1.example.org:44555', heartbeat: 2s }\n");
        var (exitCode, output) = await Harness.GrayProcess.RunAsync(["config", "show", file]);
        Assert.Equal(0, exitCode);
        Assert.DoesNotContain("do-not-print-1234", output);
        Assert.Contains("registry: postgres://gray:********@db.internal:5432/gray", output);
        Assert.Contains("cluster: {node_id: relay-1, advertise: 'relay-1.example.org:44555', heartbeat: 2s", output);
        Assert.Equal("Host=db;Password=********;Database=x", Registry.Redact("Host=db;Password=hunter2;Database=x"));
        Assert.Equal("postgres://u:********@db/x?sslmode=require",
            Registry.Redact("postgres://u:p@ss@db/x?sslmode=require"));
        Assert.Equal("postgres://db/x", Registry.Redact("postgres://db/x"));
    }

    [Theory]
    [InlineData("cluster:\n  node_id: n1\n  advertise: 'relay:44555'\n", "cluster: needs a shared registry")]
    [InlineData("registry: postgres://gray@127.0.0.1:1/gray\n", "registry: a PostgreSQL registry is a cluster's")]
    [InlineData("registry: mysql://x\n", "registry: use sqlite:PATH, postgres://")]
    [InlineData("cluster: { node_id: 'bad id', advertise: 'r:1' }\n", "cluster.node_id: 'bad id' is not 1 to 64")]
    [InlineData("cluster: { node_id: n1, advertise: relay }\n", "cluster.advertise: 'relay' is not HOST:PORT")]
    public async Task A_cluster_without_what_it_needs_is_a_clear_error(string yaml, string expected)
    {
        string dir = Directory.CreateTempSubdirectory("gray-config-").FullName;
        string file = Path.Combine(dir, "relay.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exitCode, output) = await Harness.GrayProcess.RunAsync(["relay", "--config", file, "--data-dir",
            Path.Combine(dir, "data"), "--control", $"127.0.0.1:{Gray.Testing.Ports.Free()}", "--http", "off",
            "--no-console"]);
        Assert.Equal(2, exitCode);
        Assert.Contains(expected, output);
        Assert.DoesNotContain("   at ", output); // no stack trace
    }
}
