// How `gray admin` prints the API's documents for a person (--json prints them as they are).
using Gray.Relay.ControlPlane;

namespace Gray.Cli;

internal static class AdminText
{
    public static string Show(ServerListView list)
    {
        var l = list.Limits;
        string header = $"connections {l.Connections}/{l.MaxConnections} (agents' reserve {l.AgentReserve}); " +
            $"clients {l.Clients}/{l.MaxClients}, per server {l.MaxClientsPerServer}, " +
            $"per client IP {l.MaxClientConnectionsPerIp}; " +
            $"pending {l.Pending}/{l.MaxPending}, per IP {l.MaxPendingPerIp} (oldest evicted); " +
            $"addresses grouped by {l.AddressPrefix}\n" +
            $"deadlines: TLS {l.HandshakeTimeout}, hello {l.HelloTimeout}, OTP {l.OtpTimeout}, " +
            $"client wait {l.ClientWaitTimeout} (max {l.MaxWaitingClients} waiting)" +
            $"{(l.DrainAll ? "; DRAINING ALL" : "")}";
        if (list.Servers.Count == 0) return header + "\nno servers";
        return string.Join('\n', new[]
            {
                header,
                $"{"ID",-24} {"CLIENT",-6} {"DATA",-6} {"AGENT",-9} {"READY",-5} {"PAIRS",-5} {"DRAIN",-5} RULES",
            }
            .Concat(list.Servers.Select(s => $"{s.Id,-24} {ClientPort(s),-6} {s.DataPort,-6} " +
                $"{(s.Connected ? "connected" : "offline"),-9} " +
                $"{s.Agent?.PoolReady ?? 0,-5} {s.ActivePairs,-5} {(s.Draining ? "yes" : "no"),-5} " +
                $"pool<={s.Rules.MaxPool} allow=[{string.Join(',', s.Rules.ClientAllow)}] " +
                $"deny=[{string.Join(',', s.Rules.ClientDeny)}] idle={s.Rules.PairIdleTimeout}" +
                (s.Rules.Bandwidth is { In: 0, Out: 0, PerClientIn: 0, PerClientOut: 0 } ? ""
                    : $" bandwidth=[{Bandwidth(s.Rules.Bandwidth)}]") +
                (s.Agent?.ProxyProtocol is { } proxyProtocol ? $" proxy_protocol={proxyProtocol}" : "") +
                (s.Hosts is { Count: > 0 } hosts ? $" hosts=[{string.Join(',', hosts)}]" : ""))));
    }

    // The client port, with its protocol when it is not TCP alone: "5353/udp", "53/tcp+udp"; "-" for a
    // server reached by host name only.
    public static string ClientPort(ServerView s) =>
        s.ClientPort is not { } port ? "-" : s.Type == "tcp" ? $"{port}" : $"{port}/{s.Type}";

    /// <summary>Limits as "in 10 MB/s, out none, per client in none, per client out 1 MB/s".</summary>
    public static string Bandwidth(BandwidthView b) =>
        $"in {BandwidthSetting.Format(b.In)}, out {BandwidthSetting.Format(b.Out)}, per client in " +
        $"{BandwidthSetting.Format(b.PerClientIn)}, per client out {BandwidthSetting.Format(b.PerClientOut)}";

    public static string Clients(IReadOnlyList<ClientView> clients, DateTimeOffset now) =>
        clients.Count == 0
            ? "no clients"
            : string.Join('\n', new[] { $"{"CONNECTION",-10} {"ADDRESS",-40} {"AGE",-10} {"IN",-10} OUT" }
                .Concat(clients.Select(c => $"{c.Id,-10} {$"{c.Address}:{c.Port}",-40} " +
                    $"{Age(now - c.Since),-10} {Bytes(c.BytesIn),-10} {Bytes(c.BytesOut)}")));

    /// <summary>One event as a line: time, type, then whichever fields it has.</summary>
    public static string Event(string json)
    {
        var e = System.Text.Json.JsonSerializer.Deserialize(json, ApiJson.Default.RelayEvent);
        if (e is null) return json;
        var parts = new List<string> { $"{e.Time.ToLocalTime():HH:mm:ss}", e.Type };
        if (e.Server is not null) parts.Add($"server={e.Server}");
        if (e.Client is not null) parts.Add($"client={e.Client}");
        if (e.BytesIn is not null) parts.Add($"in={Bytes(e.BytesIn.Value)}");
        if (e.BytesOut is not null) parts.Add($"out={Bytes(e.BytesOut.Value)}");
        if (e.Reason is not null) parts.Add($"({Gray.Hosting.LogText.Escape(e.Reason)})");
        return string.Join(' ', parts);
    }

    public static string Age(TimeSpan age) => age.TotalSeconds switch
    {
        < 60 => $"{Math.Max(0, age.TotalSeconds):0}s",
        < 3600 => $"{age.TotalMinutes:0}m",
        < 86400 => $"{age.TotalHours:0.#}h",
        _ => $"{age.TotalDays:0.#}d",
    };

    public static string Bytes(double bytes) => bytes switch
    {
        < 0 => "0 B",
        < 1024 => $"{bytes:0} B",
        < 1024 * 1024 => $"{bytes / 1024:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024 / 1024:0.0} MiB",
        _ => $"{bytes / 1024 / 1024 / 1024:0.00} GiB",
    };
}
