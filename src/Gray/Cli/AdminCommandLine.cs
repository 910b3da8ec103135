// `gray admin …`: commands sent to the running relay's admin endpoint.
using System.CommandLine;
using System.Text.Json;
using Gray.Hosting;
using Gray.Relay.Admin;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command AdminCommand()
    {
        var command = new Command("admin", "Manage a running relay through its local admin endpoint.");

        var addId = new Argument<string>("ID") { Description = "server ID" };
        var clientPort = new Option<int?>("--client-port") { Description = "public client port (default: allocated)" };
        var dataPort = new Option<int?>("--data-port") { Description = "data port (default: allocated)" };
        var addJson = JsonOption();
        var addDir = DataDirOption();
        var add = new Command("add", "Register a server; prints its ports and its secret (shown once).")
        {
            addId, clientPort, dataPort, addJson, addDir,
        };
        add.SetAction((result, ct) => AdminAsync(result.GetValue(addDir)!,
            new AdminRequest("", "add", result.GetValue(addId), result.GetValue(clientPort), result.GetValue(dataPort)),
            response =>
        {
            var s = response.Server!;
            if (result.GetValue(addJson))
            {
                return JsonSerializer.Serialize(new AddedServerJson(s.Id, s.ClientPort, s.DataPort, s.Secret),
                    AdminJson.Context.AddedServerJson);
            }
            return $"id:          {s.Id}\nclient port: {s.ClientPort}\ndata port:   {s.DataPort}\n" +
                $"secret:      {s.Secret}\n(the secret is shown only once)";
        }, ct));

        var showJson = JsonOption();
        var showDir = DataDirOption();
        var show = new Command("show", "List servers and whether their agent is connected.") { showJson, showDir };
        show.SetAction((result, ct) => AdminAsync(result.GetValue(showDir)!, new AdminRequest("", "show"), response =>
        {
            var servers = response.Servers ?? [];
            if (result.GetValue(showJson))
            {
                var entries = servers.Select(s => new ServerListEntryJson(s.Id, s.ClientPort, s.DataPort,
                    s.Connected == true, s.PoolReady ?? 0, s.ActivePairs ?? 0, s.Draining == true, s.Rules,
                    response.Limits)).ToList();
                return JsonSerializer.Serialize(entries, AdminJson.Context.ListServerListEntryJson);
            }

            var l = response.Limits!;
            string header = $"connections {l.Connections}/{l.MaxConnections} (agents' reserve {l.AgentReserve}); " +
                $"clients {l.Clients}/{l.MaxClients}, per server {l.MaxClientsPerServer}, " +
                $"per client IP {l.MaxClientConnectionsPerIp}; " +
                $"pending {l.Pending}/{l.MaxPending}, per IP {l.MaxPendingPerIp} (oldest evicted); " +
                $"addresses grouped by {l.AddressPrefix}\n" +
                $"deadlines: TLS {l.HandshakeTimeout}, hello {l.HelloTimeout}, " +
                $"OTP {l.OtpTimeout}, " +
                $"client wait {l.ClientWaitTimeout} (max {l.MaxWaitingClients} waiting)" +
                $"{(l.DrainAll ? "; DRAINING ALL" : "")}";
            return servers.Count == 0
                ? header + "\nno servers"
                : string.Join('\n', new[]
                    {
                        header,
                        $"{"ID",-24} {"CLIENT",-6} {"DATA",-6} {"AGENT",-9} {"READY",-5} {"PAIRS",-5} " +
                        $"{"DRAIN",-5} RULES",
                    }
                    .Concat(servers.Select(s => $"{s.Id,-24} {s.ClientPort,-6} {s.DataPort,-6} " +
                        $"{(s.Connected == true ? "connected" : "offline"),-9} " +
                        $"{s.PoolReady,-5} {s.ActivePairs,-5} {(s.Draining == true ? "yes" : "no"),-5} " +
                        $"pool<={s.Rules!.MaxPool} allow=[{string.Join(',', s.Rules.ClientAllow)}] " +
                        $"deny=[{string.Join(',', s.Rules.ClientDeny)}] idle={s.Rules.PairIdleTimeout}")));
        }, ct));

        var deleteId = new Argument<string>("ID") { Description = "server ID" };
        var deleteDir = DataDirOption();
        var delete = new Command("delete", "Remove a server, drop its agent and free its ports.")
        {
            deleteId, deleteDir,
        };
        delete.SetAction((result, ct) => AdminAsync(result.GetValue(deleteDir)!,
            new AdminRequest("", "delete", result.GetValue(deleteId)), _ => $"deleted {result.GetValue(deleteId)}",
            ct));

        var shutdownDir = DataDirOption();
        var shutdown = new Command("shutdown", "Stop the relay gracefully.") { shutdownDir };
        shutdown.SetAction((result, ct) => AdminAsync(result.GetValue(shutdownDir)!,
            new AdminRequest("", "shutdown"), _ => "relay shutting down", ct));

        var fingerprintDir = DataDirOption();
        var fingerprint = new Command("fingerprint",
            "Print the relay certificate's SHA-256, in the form --fingerprint takes.") { fingerprintDir };
        fingerprint.SetAction((result, ct) => AdminAsync(result.GetValue(fingerprintDir)!,
            new AdminRequest("", "fingerprint"), r => r.Fingerprint!, ct));

        var drainId = new Argument<string?>("ID") { Description = "server ID", Arity = ArgumentArity.ZeroOrOne };
        var drainAll = new Option<bool>("--all") { Description = "every server" };
        var drainDir = DataDirOption();
        var drain = new Command("drain", "Refuse new clients (one server or --all); running pairs finish.")
        {
            drainId, drainAll, drainDir,
        };
        drain.SetAction((result, ct) => AdminAsync(result.GetValue(drainDir)!,
            new AdminRequest("", "drain", OneOrAll(result.GetValue(drainId), result.GetValue(drainAll))),
            _ => $"draining {result.GetValue(drainId) ?? "every server"}", ct));

        var resumeId = new Argument<string?>("ID")
        {
            Description = "server ID (default: all)", Arity = ArgumentArity.ZeroOrOne,
        };
        var resumeAll = new Option<bool>("--all") { Description = "every server" };
        var resumeDir = DataDirOption();
        var resume = new Command("resume", "Accept new clients again after drain.") { resumeId, resumeAll, resumeDir };
        resume.SetAction((result, ct) => AdminAsync(result.GetValue(resumeDir)!,
            new AdminRequest("", "resume", result.GetValue(resumeId)),
            _ => $"resumed {result.GetValue(resumeId) ?? "every server"}", ct));

        var kickId = new Argument<string>("ID") { Description = "server ID" };
        var kickClient = new Option<string>("--client") { Description = "the client's IP address", Required = true };
        var kickDir = DataDirOption();
        var kick = new Command("kick", "End every pair of one client IP on a server.") { kickId, kickClient, kickDir };
        kick.SetAction((result, ct) => AdminAsync(result.GetValue(kickDir)!,
            new AdminRequest("", "kick", result.GetValue(kickId), Client: result.GetValue(kickClient)),
            r => $"kicked {r.Count} connections", ct));

        var topDir = DataDirOption();
        var topCount = new Option<int?>("--count")
        {
            Description = "stop after this many refreshes (default: until Ctrl+C)",
        };
        var top = new Command("top",
            "A live table of servers, agents, pool fill, pairs and bytes per second.") { topDir, topCount };
        top.SetAction(async (result, ct) =>
        {
            try
            {
                return await TopView.RunAsync(result.GetValue(topDir)!, result.GetValue(topCount), ct);
            }
            catch (AdminException error)
            {
                Console.Error.WriteLine($"gray admin top: {error.Message}");
                return ExitCodes.Failure;
            }
        });

        command.Subcommands.Add(add);
        command.Subcommands.Add(top);
        command.Subcommands.Add(drain);
        command.Subcommands.Add(resume);
        command.Subcommands.Add(kick);
        command.Subcommands.Add(show);
        command.Subcommands.Add(delete);
        command.Subcommands.Add(shutdown);
        command.Subcommands.Add(fingerprint);
        return command;
    }

    private static string? OneOrAll(string? id, bool all) =>
        (id, all) switch
        {
            (null, true) => null,
            ({ } one, false) => one,
            _ => throw new ConfigException("name one server ID, or --all"),
        };

    private static async Task<int> AdminAsync(string dataDir, AdminRequest request, Func<AdminResponse, string> format,
        CancellationToken cancellationToken)
    {
        try
        {
            var response = await AdminClient.SendAsync(dataDir, request, cancellationToken).ConfigureAwait(false);
            if (!response.Ok)
            {
                Console.Error.WriteLine($"gray admin {request.Command}: {response.Error}");
                return ExitCodes.Usage;
            }

            Console.WriteLine(format(response));
            return ExitCodes.Ok;
        }
        catch (AdminException error)
        {
            Console.Error.WriteLine($"gray admin {request.Command}: {error.Message}");
            return ExitCodes.Failure;
        }
    }
}
