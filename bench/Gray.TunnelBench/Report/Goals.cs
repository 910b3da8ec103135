// The performance issue's goals, checked against the medians of one run.
namespace Gray.TunnelBench.Report;

/// <summary>One goal; <paramref name="MetBy"/> names the setups that meet it, when some do.</summary>
internal sealed record GoalCheck(string Goal, string Measured, bool? Met, string? MetBy = null);

internal static class Goals
{
    public const string Direct = "direct", Tls = "Gray TLS", Plain = "Gray plain", Haproxy = "haproxy", Ssh = "ssh -R";

    /// <summary>The same with `gray agent --mux`: tunneled connections multiplexed over the pool's data
    /// connections.</summary>
    public const string TlsMux = "Gray TLS mux", PlainMux = "Gray plain mux";

    /// <summary>The agent reaches the relay by WebSocket over HTTPS (wss://) on the relay's web port.</summary>
    public const string Wss = "Gray wss", WssMux = "Gray wss mux";

    /// <summary>Most a full pool may add to connection setup over no tunnel, in µs (p50).</summary>
    public const double MaxPairingMicroseconds = 200;

    public const double MaxRelayKiBPerConnection = 16;

    /// <summary>Relay RSS limit with 1,000 idle connections, in MiB.</summary>
    public const double MaxRelayMiBAtThousand = 64;

    public static IReadOnlyList<GoalCheck> Check(Results r)
    {
        Metric[] bulk = [Metrics.BulkUp, Metrics.BulkDown, Metrics.Bulk8];
        return
        [
            AtLeast(
                r, "plain data: bulk ≥ 1.0× haproxy (1 up / 1 down / 8 streams)", [Plain, PlainMux], Haproxy, 1.0,
                bulk),
            AtLeast(
                r, "plain data: request/response ≥ 1.0× haproxy", [Plain, PlainMux], Haproxy, 1.0,
                    Metrics.RequestRate),
            AtLeast(r, "plain data: connection rate ≥ 0.8× haproxy", [Plain, PlainMux], Haproxy, 0.8,
                Metrics.ConnectionRate),
            AtLeast(r, "TLS data: bulk ≥ 2× ssh -R (1 up / 1 down / 8 streams)", [Tls, TlsMux], Ssh, 2.0, bulk),
            AtLeast(r, "TLS data: request/response ≥ 1.2× ssh -R", [Tls, TlsMux], Ssh, 1.2, Metrics.RequestRate),
            AtLeast(r, "TLS data: connection rate ≥ 3× ssh -R", [Tls, TlsMux], Ssh, 3.0, Metrics.ConnectionRate),
            Pairing(r, Tls),
            Pairing(r, TlsMux),
            Pairing(r, Plain),
            Pairing(r, PlainMux),
            Idle(r, Tls),
            Idle(r, TlsMux),
            Idle(r, Plain),
            Idle(r, PlainMux),
        ];
    }

    // One goal over the setups that may meet it (pooled and multiplexed): each one's ratios, and which meet it.
    private static GoalCheck AtLeast(
        Results r, string goal, string[] setups, string reference, double minimum, params Metric[] metrics)
    {
        var measured = new List<string>();
        var meeting = new List<string>();
        foreach (string setup in setups)
        {
            var ratios = metrics.Select(m => r.Ratio(setup, reference, m)).ToArray();
            if (ratios.Any(x => x is null)) continue;
            measured.Add($"{setup}: {string.Join(" / ", ratios.Select(x => $"{x:0.00}×"))}");
            if (ratios.All(x => x >= minimum)) meeting.Add(setup);
        }

        if (measured.Count == 0) return new GoalCheck(goal, "not measured", null);
        return new GoalCheck(goal, string.Join("; ", measured), meeting.Count > 0,
            meeting.Count > 0 ? string.Join(", ", meeting) : null);
    }

    private static GoalCheck Pairing(Results r, string setup)
    {
        string goal = $"{setup}: pairing adds < {MaxPairingMicroseconds:0} µs to setup (p50, one " +
            "at a time, against direct)";
        if (r.Median(setup, Metrics.SingleSetupP50) is not { } tunnel
            || r.Median(Direct, Metrics.SingleSetupP50) is not { } direct)
        {
            return new GoalCheck(goal, "not measured", null);
        }

        double added = tunnel - direct;
        return new GoalCheck(goal, $"{added:0} µs ({tunnel:0} vs {direct:0})", added < MaxPairingMicroseconds);
    }

    private static GoalCheck Idle(Results r, string setup)
    {
        string goal = $"{setup}: relay ≤ {MaxRelayKiBPerConnection:0} KiB per idle connection; RSS < " +
            $"{MaxRelayMiBAtThousand:0} MiB at 1,000";
        double? perConnection = r.Median(setup, Metrics.RelayPerConnection);
        double? atThousand = r.Median(setup, Metrics.Rss("relay", 1_000));
        if (perConnection is null || atThousand is null) return new GoalCheck(goal, "not measured", null);
        return new GoalCheck(goal, $"{perConnection:0.0} KiB; {atThousand:0.0} MiB",
            perConnection <= MaxRelayKiBPerConnection && atThousand < MaxRelayMiBAtThousand);
    }
}
