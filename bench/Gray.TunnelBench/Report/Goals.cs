// The performance issue's goals, checked against the medians of one run: each row for plain and TLS data,
// as ratios to haproxy measured in the same run, or as memory, on the agent's defaults (no --mux, no --pool).
namespace Gray.TunnelBench.Report;

/// <summary>One side of a goal row: the goal, what was measured, and whether it is met (null: not measured).</summary>
internal sealed record GoalCell(string Goal, string Measured, bool? Met);

internal sealed record GoalRow(string Row, GoalCell Plain, GoalCell Tls);

internal static class Goals
{
    public const string Direct = "direct", Tls = "Gray TLS", Plain = "Gray plain", Haproxy = "haproxy", Ssh = "ssh -R";

    /// <summary>The same with `gray agent --mux`: tunneled connections multiplexed over the pool's data
    /// connections.</summary>
    public const string TlsMux = "Gray TLS mux", PlainMux = "Gray plain mux";

    /// <summary>The agent as shipped: neither --mux nor --pool.</summary>
    public const string TlsDefaults = "Gray TLS defaults", PlainDefaults = "Gray plain defaults";

    /// <summary>The agent reaches the relay by WebSocket over HTTPS (wss://) on the relay's web port.</summary>
    public const string Wss = "Gray wss", WssMux = "Gray wss mux";

    /// <summary>The TLS goal for the relay's RSS with 1,000 idle tunneled connections, in MiB.</summary>
    public const double TlsRelayMiBAtThousand = 40;

    /// <summary>Most the relay's RSS may grow over its idle RSS 60 s after a burst.</summary>
    public const double MaxBurstGrowth = 1.5;

    public static IReadOnlyList<GoalRow> Check(Results r) =>
    [
        Row("connection rate, 20 loops", (p, t) => (Ratio(r, p, Metrics.ConnectionRate, 0.67),
            Ratio(r, t, Metrics.ConnectionRate, 0.35))),
        Row("request/response, 50 connections", (p, t) => (Ratio(r, p, Metrics.RequestRate, 0.82),
            Ratio(r, t, Metrics.RequestRate, 0.78))),
        Row("bulk, 1 stream each way (up / down)", (p, t) => (Ratio(r, p, Metrics.BulkUp, 1.0, Metrics.BulkDown),
            Ratio(r, t, Metrics.BulkUp, 0.62, Metrics.BulkDown))),
        Row("relay RSS, idle, one agent connected", (p, t) => (
            AtMost(r, p, Metrics.Rss("relay", 0), 28), AtMost(r, t, Metrics.Rss("relay", 0), 28))),
        Row("relay RSS, 1,000 idle tunneled connections", (p, t) => (
            AtMost(r, p, Metrics.Rss("relay", 1_000), 36),
            AtMost(r, t, Metrics.Rss("relay", 1_000), TlsRelayMiBAtThousand))),
        Row("relay RSS, 5,000 idle tunneled connections", (p, t) => (
            AtMost(r, p, Metrics.Rss("relay", 5_000), 64), AtMost(r, t, Metrics.Rss("relay", 5_000), 96))),
        Row("relay RSS, 10,000 idle tunneled connections", (p, t) => (
            AtMost(r, p, Metrics.Rss("relay", 10_000), 100), AtMost(r, t, Metrics.Rss("relay", 10_000), 160))),
        Row("agent RSS, idle", (p, t) => (
            AtMost(r, p, Metrics.Rss("agent", 0), 20), AtMost(r, t, Metrics.Rss("agent", 0), 20))),
        Row("relay RSS 60 s after a 30 s bulk + request/response burst", (p, t) => (
            AfterBurst(r, p), AfterBurst(r, t))),
    ];

    private static GoalRow Row(string row, Func<string, string, (GoalCell Plain, GoalCell Tls)> cells)
    {
        var (plain, tls) = cells(PlainDefaults, TlsDefaults);
        return new GoalRow(row, plain, tls);
    }

    // Each metric's ratio to haproxy (above 1× is better); met when all reach the minimum.
    private static GoalCell Ratio(Results r, string setup, Metric metric, double minimum, params Metric[] more)
    {
        string goal = $"≥ {minimum:0.00}× haproxy";
        var ratios = more.Prepend(metric).Select(m => r.Ratio(setup, Haproxy, m)).ToArray();
        if (ratios.Any(x => x is null)) return new GoalCell(goal, "not measured", null);
        return new GoalCell(goal, string.Join(" / ", ratios.Select(x => $"{x:0.00}×")), ratios.All(x => x >= minimum));
    }

    private static GoalCell AtMost(Results r, string setup, Metric metric, double maximumMiB)
    {
        string goal = $"≤ {maximumMiB:0} MiB";
        return r.Median(setup, metric) is { } value
            ? new GoalCell(goal, $"{value:0.0} MiB", value <= maximumMiB)
            : new GoalCell(goal, "not measured", null);
    }

    private static GoalCell AfterBurst(Results r, string setup)
    {
        string goal = $"≤ {MaxBurstGrowth:0.0}× idle";
        if (r.Median(setup, Metrics.BeforeBurst("relay")) is not { } before
            || r.Median(setup, Metrics.AfterBurst("relay")) is not { } after)
        {
            return new GoalCell(goal, "not measured", null);
        }

        return new GoalCell(goal, $"{after:0.0} MiB, {after / before:0.00}× {before:0.0}",
            after <= MaxBurstGrowth * before);
    }
}
