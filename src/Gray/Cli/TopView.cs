// `gray admin top`: a live table of servers, agents, pool fill, pairs and bytes per second,
// refreshed every second from the relay's API (Spectre.Console).
using Gray.Relay.ControlPlane;
using Spectre.Console;

namespace Gray.Cli;

internal static class TopView
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(AdminClient admin, int? count, CancellationToken cancellationToken)
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
                    var list = await admin.GetAsync("/api/v1/servers", ApiJson.Default.ServerListView,
                        cancellationToken);
                    table.Rows.Clear();
                    var now = DateTime.UtcNow;
                    foreach (var s in list.Servers)
                    {
                        string inRate = "-", outRate = "-";
                        if (previous.TryGetValue(s.Id, out var last) && now > last.At)
                        {
                            double seconds = (now - last.At).TotalSeconds;
                            inRate = AdminText.Bytes((s.BytesIn - last.In) / seconds);
                            outRate = AdminText.Bytes((s.BytesOut - last.Out) / seconds);
                        }

                        previous[s.Id] = (s.BytesIn, s.BytesOut, now);
                        table.AddRow(Markup.Escape(s.Id), AdminText.ClientPort(s), $"{s.DataPort}",
                            s.Connected ? "[green]connected[/]" : "[grey]offline[/]",
                            $"{s.Agent?.PoolReady ?? 0}/{s.Rules.MaxPool}", $"{s.ActivePairs}", inRate, outRate,
                            s.Draining ? "[yellow]yes[/]" : "no");
                    }

                    var l = list.Limits;
                    table.Caption(new TableTitle(
                        $"connections {l.Connections}/{l.MaxConnections}   {now:HH:mm:ss}   (Ctrl+C to quit)"));
                    live.Refresh();
                    rounds++;
                    if (count is null || rounds < count) await Task.Delay(Refresh, cancellationToken);
                }
            });
        }
        catch (OperationCanceledException)
        {
        }
    }
}
