// The relay's instruments (System.Diagnostics.Metrics).
using System.Diagnostics.Metrics;

namespace Gray.Relay;

/// <summary>Meter "Gray.Relay".</summary>
internal static class RelayMeter
{
    public const string Name = "Gray.Relay";

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> ConnectionsAccepted = Meter.CreateCounter<long>(
        "gray.relay.connections.accepted", description: "Connections admitted, by port kind (control, client, data, admin)");

    public static readonly Counter<long> ConnectionsRefused = Meter.CreateCounter<long>(
        "gray.relay.connections.refused", description: "Connections refused at accept, by port kind and reason");

    public static readonly Counter<long> Otps = Meter.CreateCounter<long>(
        "gray.relay.otps", description: "One-time passwords by outcome: issued, used, expired, rejected");

    public static readonly Histogram<double> PairSetup = Meter.CreateHistogram<double>(
        "gray.relay.pair.setup.duration", unit: "s", description: "From a client's accept to its start frame on a data connection");

    public static readonly Histogram<double> PingRoundTrip = Meter.CreateHistogram<double>(
        "gray.relay.ping.rtt", unit: "s", description: "Control-channel ping round trip, by server");

    public static void Accepted(string portKind) =>
        ConnectionsAccepted.Add(1, new KeyValuePair<string, object?>("port_kind", portKind));

    public static void Refused(string portKind, Gray.Net.RefuseReason reason) =>
        ConnectionsRefused.Add(1, new KeyValuePair<string, object?>("port_kind", portKind), new KeyValuePair<string, object?>("reason", ReasonName(reason)));

    public static void Otp(string server, string outcome, int count = 1)
    {
        if (count > 0) Otps.Add(count, new KeyValuePair<string, object?>("server", server), new KeyValuePair<string, object?>("outcome", outcome));
    }

    private static string ReasonName(Gray.Net.RefuseReason reason) => reason switch
    {
        Gray.Net.RefuseReason.Paused => "draining",
        Gray.Net.RefuseReason.SessionLimit => "port_limit",
        Gray.Net.RefuseReason.GlobalLimit => "max_connections",
        Gray.Net.RefuseReason.AddressLimit => "per_ip_limit",
        Gray.Net.RefuseReason.Denied => "denied",
        Gray.Net.RefuseReason.DescriptorsExhausted => "out_of_descriptors",
        _ => "banned",
    };

    /// <summary>Registers the per-server gauges, read from the live servers at each collection.</summary>
    public static void ObserveServers(Func<IEnumerable<(string Id, int ActivePairs, int PoolReady, int PoolTarget, long BytesIn, long BytesOut)>> servers)
    {
        // Live counts, running pairs included; they start again when a newer agent session takes over.
        Meter.CreateObservableCounter("gray.relay.bytes",
            () => servers().SelectMany(s => new[]
            {
                new Measurement<long>(s.BytesIn, new KeyValuePair<string, object?>("server", s.Id), new KeyValuePair<string, object?>("direction", "in")),
                new Measurement<long>(s.BytesOut, new KeyValuePair<string, object?>("server", s.Id), new KeyValuePair<string, object?>("direction", "out")),
            }),
            unit: "By", description: "Bytes forwarded, by server and direction (in: client to service), running pairs included");
        Meter.CreateObservableGauge("gray.relay.pairs.active",
            () => servers().Select(s => new Measurement<int>(s.ActivePairs, new KeyValuePair<string, object?>("server", s.Id))),
            description: "Pairs running, by server");
        Meter.CreateObservableGauge("gray.relay.pool.ready",
            () => servers().Select(s => new Measurement<int>(s.PoolReady, new KeyValuePair<string, object?>("server", s.Id))),
            description: "Data connections waiting in the pool, by server");
        Meter.CreateObservableGauge("gray.relay.pool.target",
            () => servers().Select(s => new Measurement<int>(s.PoolTarget, new KeyValuePair<string, object?>("server", s.Id))),
            description: "Pool size the agent asked for, by server");
    }
}
