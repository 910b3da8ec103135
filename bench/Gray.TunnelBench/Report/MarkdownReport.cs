// The report as Markdown: when and where it ran, one table of medians with ratios to direct and to
// haproxy, the goals, and the notes (skipped tools, failures).
using System.Globalization;
using System.Text;

namespace Gray.TunnelBench.Report;

internal static class MarkdownReport
{
    public const string BeginMarker = "<!-- tunnel-benchmark:begin -->", EndMarker = "<!-- tunnel-benchmark:end -->";

    public static string Render(Results r, BenchOptions options, IReadOnlyList<string> setups, RunInfo run)
    {
        var text = new StringBuilder();
        text.AppendLine($"Run {run.Started:yyyy-MM-dd HH:mm} UTC: `{run.Command}`  ");
        text.AppendLine($"Machine: {run.Machine}  ");
        text.AppendLine($"Peers: {run.Peers}  ");
        text.AppendLine($"Medians of {options.Runs} round(s); bulk, request/response and connection rate run " +
            $"{options.Seconds} s each; Gray's agent pool {(options.Pool is { } pool ? pool : "its default")} " +
            "(the -defaults setups: always its default).");
        text.AppendLine();
        text.AppendLine("Each cell: the median, then its ratio to direct (d) and to haproxy (h), oriented so that " +
            "above 1× is better (for latencies, costs and memory, the inverse).");
        text.AppendLine();
        text.AppendLine("| Workload | " + string.Join(" | ", setups) + " |");
        text.AppendLine("|---|" + string.Concat(setups.Select(_ => "---:|")));
        foreach (var metric in TableMetrics(options))
        {
            if (!setups.Any(s => r.Median(s, metric) is not null)) continue;
            text.Append($"| {metric.Title} ({metric.Unit}) |");
            foreach (string setup in setups) text.Append($" {Cell(r, setup, metric)} |");
            text.AppendLine();
        }

        text.AppendLine();
        text.AppendLine($"Goals ({Goals.PlainDefaults} and {Goals.TlsDefaults}: the agent's defaults):");
        text.AppendLine();
        text.AppendLine("| Row | plain: goal | measured | met | TLS: goal | measured | met |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var goal in Goals.Check(r))
        {
            text.AppendLine($"| {goal.Row} | {Cells(goal.Plain)} | {Cells(goal.Tls)} |");
        }

        var notes = setups.SelectMany(s => r.NotesFor(s).Select(n => $"- {s}: {n}"))
            .Concat(run.Notes.Select(n => $"- {n}")).ToList();
        if (notes.Count > 0)
        {
            text.AppendLine();
            foreach (string note in notes) text.AppendLine(note);
        }

        return text.ToString();
    }

    private static string Cells(GoalCell cell) =>
        $"{cell.Goal} | {cell.Measured} | {cell.Met switch { true => "met", false => "**not met**", null => "–" }}";

    public static IEnumerable<Metric> TableMetrics(BenchOptions options) =>
    [
        Metrics.BulkUp, Metrics.BulkDown, Metrics.Bulk8, Metrics.RelayCpu, Metrics.AgentCpu,
        Metrics.RequestRate, Metrics.RequestP50, Metrics.RequestP99, Metrics.RequestRelayCpu, Metrics.RequestAgentCpu,
        Metrics.ConnectionRate, Metrics.SetupP50, Metrics.SetupP99, Metrics.ConnectionRelayCpu,
            Metrics.ConnectionAgentCpu,
        Metrics.SingleSetupP50, Metrics.Integrity(Workloads.Integrity.StreamBytes(options)),
        Metrics.HttpByNameRate, Metrics.HttpByNameConnections, Metrics.TlsBySniRate, Metrics.TlsBySniConnections,
        .. Workloads.Datagrams.Sizes.SelectMany(s => new[]
        {
            Metrics.DatagramRate(s), Metrics.DatagramP50(s), Metrics.DatagramP99(s), Metrics.DatagramLoss(s),
        }),
        Metrics.Limited,
        .. options.IdleLevels.Select(l => Metrics.Rss("relay", l)), Metrics.Anonymous("relay"),
            Metrics.RelayPerConnection,
        .. options.IdleLevels.Select(l => Metrics.Rss("agent", l)), Metrics.Anonymous("agent"),
            Metrics.AgentPerConnection,
        Metrics.BeforeBurst("relay"), Metrics.AfterBurst("relay"), Metrics.BeforeBurst("agent"),
        Metrics.AfterBurst("agent"),
    ];

    private static string Cell(Results r, string setup, Metric metric)
    {
        if (r.Median(setup, metric) is not { } value) return "–";
        string cell = Format(value);
        var ratios = new List<string>();
        if (setup != Goals.Direct && r.Ratio(setup, Goals.Direct, metric) is { } d) ratios.Add($"{d:0.00}× d");
        if (setup != Goals.Haproxy && r.Ratio(setup, Goals.Haproxy, metric) is { } h) ratios.Add($"{h:0.00}× h");
        return ratios.Count == 0 ? cell : $"{cell} ({string.Join(", ", ratios)})";
    }

    public static string Format(double value) => value switch
    {
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    /// <summary>Replaces what is between the markers in <paramref name="file"/> with
    /// <paramref name="section"/>.</summary>
    public static void WriteInto(string file, string section)
    {
        string text = File.ReadAllText(file);
        int begin = text.IndexOf(BeginMarker, StringComparison.Ordinal),
            end = text.IndexOf(EndMarker, StringComparison.Ordinal);
        if (begin < 0 || end < begin) throw new BenchException($"{file} has no {BeginMarker} … {EndMarker} section");
        File.WriteAllText(file, text[..(begin + BeginMarker.Length)] + "\n" + section + text[end..]);
    }
}

/// <summary>What the report says about the run itself.</summary>
internal sealed record RunInfo(
    DateTime Started, string Command, string Machine, string Peers, IReadOnlyList<string> Notes);
