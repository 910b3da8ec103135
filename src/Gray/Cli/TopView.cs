// `gray admin top`: a live table of servers, agents, pool fill, pairs and bytes per second,
// refreshed every second from the relay's admin endpoint (Spectre.Console).
using Gray.Relay.Admin;
using Spectre.Console;
using Gray.Hosting;

namespace Gray.Cli;

internal static class TopView
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(string dataDir, int? count, CancellationToken cancellationToken)
    {
        // not 80: no truncation in logs
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
        var previous = new Dictionary<string, (long In, long Out, DateTime At)>();
        var table = new Table().Border(TableBorder.Rounded);
        foreach (string column in
            new[] { "SERVER", "CLIENT", "DATA", "AGENT", "POOL", "PAIRS", "IN/s", "OUT/s", "DRAIN" })
        {
            table.AddColumn(column);
        }
        int rounds = 0;
        try
        {
            await AnsiConsole.Live(table).StartAsync(async live =>
            {
                while (!cancellationToken.IsCancellationRequested && (count is null || rounds < count))
                {
                    var response = await AdminClient.SendAsync(dataDir, new AdminRequest("", "show"),
                        cancellationToken);
                    table.Rows.Clear();
                    var now = DateTime.UtcNow;
                    foreach (var s in response.Servers ?? [])
                    {
                        long bytesIn = s.BytesIn ?? 0, bytesOut = s.BytesOut ?? 0;
                        string inRate = "-", outRate = "-";
                        if (previous.TryGetValue(s.Id, out var last) && now > last.At)
                        {
                            double seconds = (now - last.At).TotalSeconds;
                            inRate = Rate((bytesIn - last.In) / seconds);
                            outRate = Rate((bytesOut - last.Out) / seconds);
                        }

                        previous[s.Id] = (bytesIn, bytesOut, now);
                        table.AddRow(s.Id, $"{s.ClientPort}", $"{s.DataPort}",
                            s.Connected == true ? "[green]connected[/]" : "[grey]offline[/]",
                            $"{s.PoolReady}/{s.Rules?.MaxPool}", $"{s.ActivePairs}", inRate, outRate,
                            s.Draining == true ? "[yellow]yes[/]" : "no");
                    }

                    var l = response.Limits;
                    table.Caption(new TableTitle(
                        $"connections {l?.Connections}/{l?.MaxConnections}   {now:HH:mm:ss}   (Ctrl+C to quit)"));
                    live.Refresh();
                    rounds++;
                    if (count is null || rounds < count) await Task.Delay(Refresh, cancellationToken);
                }
            });
        }
        catch (OperationCanceledException)
        {
        }

        return ExitCodes.Ok;
    }

    private static string Rate(double bytesPerSecond) => bytesPerSecond switch
    {
        < 0 => "0 B",
        < 1024 => $"{bytesPerSecond:0} B",
        < 1024 * 1024 => $"{bytesPerSecond / 1024:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytesPerSecond / 1024 / 1024:0.0} MiB",
        _ => $"{bytesPerSecond / 1024 / 1024 / 1024:0.00} GiB",
    };
}
