// The relay's console commands on its terminal: /add, /show, /delete, /shutdown, /help.
namespace Gray.Relay;

internal static class RelayConsole
{
    private const string Help = """
        /add ID [CLIENT_PORT DATA_PORT]   register a server; prints its ports and secret (shown once)
        /show                             list servers and whether their agent is connected
        /delete ID                        remove a server, drop its agent and free its ports
        /shutdown                         stop the relay
        /help                             this text
        """;

    public static async Task RunAsync(RelayCommands commands, CancellationToken cancellationToken)
    {
        Console.WriteLine("Type /help for commands.");
        while (!cancellationToken.IsCancellationRequested)
        {
            string? line = await Task.Run(Console.ReadLine, cancellationToken).ConfigureAwait(false);
            if (line is null) return;
            try
            {
                if (!await ExecuteAsync(commands, line.Trim()).ConfigureAwait(false)) return;
            }
            catch (Exception error) when (error is RegistryException or FormatException)
            {
                Console.WriteLine($"error: {error.Message}");
            }
        }
    }

    private static async Task<bool> ExecuteAsync(RelayCommands commands, string line)
    {
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return true;
        switch (words[0])
        {
            case "/add" when words.Length is 2 or 4:
                int? clientPort = words.Length == 4 ? int.Parse(words[2]) : null;
                int? dataPort = words.Length == 4 ? int.Parse(words[3]) : null;
                var added = commands.Add(new ControlPlane.AddServerRequest(words[1], clientPort, dataPort));
                Console.WriteLine($"added {added.Id}: client port {added.ClientPort?.ToString() ?? "-"}, " +
                    $"data port {added.DataPort}, " +
                    $"secret {added.Secret}");
                break;
            case "/show":
                foreach (var server in commands.List().Servers)
                {
                    Console.WriteLine($"{server.Id,-24} client {server.ClientPort?.ToString() ?? "-",-5}  " +
                        $"data {server.DataPort,-5}  " +
                        $"{(server.Connected ? "connected" : "offline")}");
                }

                break;
            case "/delete" when words.Length == 2:
                Console.WriteLine(await commands.DeleteAsync(words[1]).ConfigureAwait(false)
                    ? $"deleted {words[1]}" : $"no server '{words[1]}'");
                break;
            case "/shutdown":
                commands.Shutdown();
                return false;
            default:
                Console.WriteLine(Help);
                break;
        }

        return true;
    }
}
