// `gray admin …`: commands sent to the running relay's HTTP API (its URL and token from admin.json).
using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Gray.Hosting;
using Gray.Relay.ControlPlane;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command AdminCommand()
    {
        var command = new Command("admin", "Manage a running relay through its HTTP control plane.");
        command.Subcommands.Add(AddCommand());
        command.Subcommands.Add(TopCommand());
        command.Subcommands.Add(OneServerCommand("drain", "Refuse new clients (one server or --all); running pairs " +
            "finish.", "/drain", id => $"draining {id ?? "every server"}"));
        command.Subcommands.Add(OneServerCommand("resume", "Accept new clients again after drain.", "/resume",
            id => $"resumed {id ?? "every server"}"));
        command.Subcommands.Add(KickCommand());
        command.Subcommands.Add(HostsCommand());
        command.Subcommands.Add(BandwidthCommand());
        command.Subcommands.Add(ClientsCommand());
        command.Subcommands.Add(ShowCommand());
        command.Subcommands.Add(DeleteCommand());
        command.Subcommands.Add(Simple("shutdown", "Stop the relay gracefully.", async (admin, ct) =>
        {
            await admin.SendAsync(HttpMethod.Post, "/api/v1/relay/shutdown", ct);
            return "relay shutting down";
        }));
        command.Subcommands.Add(Simple("fingerprint",
            "Print the relay certificate's SHA-256, in the form --fingerprint takes.", async (admin, ct) =>
                (await admin.GetAsync("/api/v1/relay/fingerprint", ApiJson.Default.FingerprintView, ct)).Fingerprint));
        command.Subcommands.Add(EventsCommand());
        command.Subcommands.Add(TokenCommand());
        command.Subcommands.Add(MigrateCommand());
        command.Subcommands.Add(NodesCommand());
        command.Subcommands.Add(NodeDrainCommand(drain: true));
        command.Subcommands.Add(NodeDrainCommand(drain: false));
        return command;
    }

    private static Command AddCommand()
    {
        var id = new Argument<string>("ID") { Description = "server ID" };
        var clientPort = new Option<int?>("--client-port") { Description = "public client port (default: allocated)" };
        var dataPort = new Option<int?>("--data-port") { Description = "data port (default: allocated)" };
        var udp = new Option<bool>("--udp") { Description = "the client port carries UDP (with --tcp: both)" };
        var tcp = new Option<bool>("--tcp") { Description = "the client port carries TCP (the default)" };
        var hosts = new Option<string[]>("--host")
        {
            Description = "a host name that reaches it on the relay's shared HTTP and TLS ports (repeatable; " +
                "*.NAME for one level of subdomains); without --client-port it gets no port of its own",
            AllowMultipleArgumentsPerToken = false,
        };
        var json = JsonOption();
        var dir = DataDirOption();
        var add = new Command("add", "Register a server; prints its ports and its secret (shown once).")
        {
            id, clientPort, dataPort, udp, tcp, hosts, json, dir,
        };
        add.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "add", async (admin, ct) =>
        {
            var s = await admin.SendAsync(HttpMethod.Post, "/api/v1/servers",
                JsonContent.Create(new AddServerRequest(result.GetValue(id)!, result.GetValue(clientPort),
                    result.GetValue(dataPort), (result.GetValue(udp), result.GetValue(tcp)) switch
                    {
                        (true, true) => "tcp+udp",
                        (true, false) => "udp",
                        _ => null,
                    }, result.GetValue(hosts) is { Length: > 0 } names ? names : null),
                    ApiJson.Default.AddServerRequest),
                ApiJson.Default.AddedServerView, ct);
            return result.GetValue(json)
                ? JsonSerializer.Serialize(s, ApiJson.Default.AddedServerView)
                : $"id:          {s.Id}\nclient port: {s.ClientPort?.ToString() ?? "none (host names only)"}\n" +
                  (s.Hosts is { Count: > 0 } claimed ? $"hosts:       {string.Join(", ", claimed)}\n" : "") +
                  $"data port:   {s.DataPort}\nsecret:      {s.Secret}\n(the secret is shown only once)";
        }, ct));
        return add;
    }

    private static Command ShowCommand()
    {
        var json = JsonOption();
        var dir = DataDirOption();
        var show = new Command("show", "List servers and whether their agent is connected.") { json, dir };
        show.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "show", async (admin, ct) =>
        {
            var list = await admin.GetAsync("/api/v1/servers", ApiJson.Default.ServerListView, ct);
            return result.GetValue(json)
                ? JsonSerializer.Serialize(list, ApiJson.Default.ServerListView)
                : AdminText.Show(list);
        }, ct));
        return show;
    }

    private static Command DeleteCommand()
    {
        var id = new Argument<string>("ID") { Description = "server ID" };
        var dir = DataDirOption();
        var delete = new Command("delete", "Remove a server, drop its agent and free its ports.") { id, dir };
        delete.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "delete", async (admin, ct) =>
        {
            await admin.SendAsync(HttpMethod.Delete, $"/api/v1/servers/{Uri.EscapeDataString(result.GetValue(id)!)}",
                ct);
            return $"deleted {result.GetValue(id)}";
        }, ct));
        return delete;
    }

    /// <summary>drain and resume: one server by ID, or every server with --all.</summary>
    private static Command OneServerCommand(string name, string description, string allPath,
        Func<string?, string> done)
    {
        var id = new Argument<string?>("ID") { Description = "server ID", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "every server" };
        var dir = DataDirOption();
        var command = new Command(name, description) { id, all, dir };
        command.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, name, async (admin, ct) =>
        {
            string? one = name == "resume" && !result.GetValue(all)
                ? result.GetValue(id) // resume without an ID resumes everything, as before
                : OneOrAll(result.GetValue(id), result.GetValue(all));
            await admin.SendAsync(HttpMethod.Post,
                one is null ? "/api/v1" + allPath : $"/api/v1/servers/{Uri.EscapeDataString(one)}{allPath}", ct);
            return done(one);
        }, ct));
        return command;
    }

    private static Command HostsCommand()
    {
        var id = new Argument<string>("ID") { Description = "server ID" };
        var names = new Argument<string[]>("NAME")
        {
            Description = "its host names from now on (none: it has none; *.NAME for one level of subdomains)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var dir = DataDirOption();
        var hosts = new Command("hosts", "Set the host names that reach a server on the shared HTTP and TLS ports.")
        {
            id, names, dir,
        };
        hosts.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "hosts", async (admin, ct) =>
        {
            var server = await admin.SendAsync(HttpMethod.Put,
                $"/api/v1/servers/{Uri.EscapeDataString(result.GetValue(id)!)}/hosts",
                JsonContent.Create(new HostsRequest(result.GetValue(names) ?? []), ApiJson.Default.HostsRequest),
                ApiJson.Default.ServerView, ct);
            return server.Hosts is { Count: > 0 } claimed
                ? $"{server.Id}: {string.Join(", ", claimed)}"
                : $"{server.Id}: no host names";
        }, ct));
        return hosts;
    }

    private static Command KickCommand()
    {
        var id = new Argument<string>("ID") { Description = "server ID" };
        var client = new Option<string>("--client") { Description = "the client's IP address", Required = true };
        var dir = DataDirOption();
        var kick = new Command("kick", "End every pair of one client IP on a server.") { id, client, dir };
        kick.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "kick", async (admin, ct) =>
        {
            var kicked = await admin.SendAsync(HttpMethod.Post,
                $"/api/v1/servers/{Uri.EscapeDataString(result.GetValue(id)!)}/kick?client=" +
                Uri.EscapeDataString(result.GetValue(client)!), null, ApiJson.Default.KickResult, ct);
            return $"kicked {kicked.Kicked} connections";
        }, ct));
        return kick;
    }

    private static Command ClientsCommand()
    {
        var id = new Argument<string>("ID") { Description = "server ID" };
        var json = JsonOption();
        var dir = DataDirOption();
        var clients = new Command("clients", "List a server's client connections: address, age, bytes.")
        {
            id, json, dir,
        };
        clients.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "clients", async (admin, ct) =>
        {
            var list = await admin.GetAsync($"/api/v1/servers/{Uri.EscapeDataString(result.GetValue(id)!)}/clients",
                ApiJson.Default.ListClientView, ct);
            return result.GetValue(json)
                ? JsonSerializer.Serialize(list, ApiJson.Default.ListClientView)
                : AdminText.Clients(list, DateTimeOffset.UtcNow);
        }, ct));
        return clients;
    }

    private static Command Simple(string name, string description,
        Func<AdminClient, CancellationToken, Task<string>> run)
    {
        var dir = DataDirOption();
        var command = new Command(name, description) { dir };
        command.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, name, run, ct));
        return command;
    }

    private static string? OneOrAll(string? id, bool all) =>
        (id, all) switch
        {
            (null, true) => null,
            ({ } one, false) => one,
            _ => throw new ConfigException("name one server ID, or --all"),
        };

    private static async Task<int> AdminAsync(string dataDir, string name,
        Func<AdminClient, CancellationToken, Task<string>> run, CancellationToken cancellationToken)
    {
        try
        {
            using var admin = AdminClient.Open(dataDir);
            Console.WriteLine(await run(admin, cancellationToken).ConfigureAwait(false));
            return ExitCodes.Ok;
        }
        catch (AdminRefusedException error)
        {
            Console.Error.WriteLine($"gray admin {name}: {error.Message}");
            return ExitCodes.Usage;
        }
        catch (AdminException error)
        {
            Console.Error.WriteLine($"gray admin {name}: {error.Message}");
            return ExitCodes.Failure;
        }
    }
}
