// The relay's instruments (System.Diagnostics.Metrics), one set per relay: the meter comes from the
// host's IMeterFactory, so two relays in one process (tests) count apart, and a stopped relay's
// gauges go with it.
using System.Diagnostics.Metrics;
using Gray.Net;

namespace Gray.Relay;

internal sealed class RelayMetrics : IDisposable
{
    public const string MeterName = "Gray.Relay";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _otps;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _preAuthFailures;

    /// <summary>
    /// Pair set-up, in seconds: from half a millisecond (a ready pool on loopback) to a client's longest
    /// wait for a data connection (client_wait_timeout, 10 s by default) and beyond.
    /// </summary>
    private static readonly double[] PairSetupBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Ping round trips, in seconds: from 0.1 ms (loopback) to the seconds of a congested link.</summary>
    private static readonly double[] RoundTripBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    public RelayMetrics(IMeterFactory? factory = null)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _accepted = _meter.CreateCounter<long>("gray.relay.connections.accepted",
            description: "Connections admitted, by port kind (control, client, data, admin)");
        _refused = _meter.CreateCounter<long>("gray.relay.connections.refused",
            description: "Connections refused at accept, by port kind and reason");
        _otps = _meter.CreateCounter<long>("gray.relay.otps",
            description: "One-time passwords by outcome: issued, used, expired, rejected");
        _preAuthFailures = _meter.CreateCounter<long>("gray.relay.preauth.failures",
            description: "Failures of connections that had not authenticated, by reason");
        _reloads = _meter.CreateCounter<long>("gray.relay.config.reloads",
            description: "Configuration reloads, by result (ok, failed)");
        PairSetup = _meter.CreateHistogram<double>("gray.relay.pair.setup.duration", unit: "s",
            description: "From a client's accept to its start frame on a data connection", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PairSetupBuckets });
        PingRoundTrip = _meter.CreateHistogram<double>("gray.relay.ping.rtt", unit: "s",
            description: "Control-channel ping round trip, by server", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RoundTripBuckets });
    }

    public Histogram<double> PairSetup { get; }

    public Histogram<double> PingRoundTrip { get; }

    public void Accepted(string portKind) => _accepted.Add(1, new KeyValuePair<string, object?>("port_kind", portKind));

    public void Refused(string portKind, RefuseReason reason) =>
        _refused.Add(1, new KeyValuePair<string, object?>("port_kind", portKind),
            new KeyValuePair<string, object?>("reason", ReasonName(reason)));

    public void Otp(string server, string outcome, int count = 1)
    {
        if (count > 0) _otps.Add(count, new KeyValuePair<string, object?>("server", server),
            new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void PreAuthFailed(string reason) =>
        _preAuthFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Reloaded(bool ok) => _reloads.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));

    /// <summary>Registers the per-server gauges, read from the live servers at each collection.</summary>
    public void ObserveServers(Func<IEnumerable<(string Id, int ActivePairs, int PoolReady, int PoolTarget,
        long BytesIn, long BytesOut)>> servers)
    {
        // Live counts, running pairs included; they start again when a newer agent session takes over.
        _meter.CreateObservableCounter("gray.relay.bytes",
            () => servers().SelectMany(s => new[]
            {
                new Measurement<long>(s.BytesIn, new KeyValuePair<string, object?>("server", s.Id),
                    new KeyValuePair<string, object?>("direction", "in")),
                new Measurement<long>(s.BytesOut, new KeyValuePair<string, object?>("server", s.Id),
                    new KeyValuePair<string, object?>("direction", "out")),
            }),
            unit: "By",
            description: "Bytes forwarded, by server and direction (in: client to service), running pairs included");
        _meter.CreateObservableGauge("gray.relay.pairs.active",
            () => servers()
                .Select(s => new Measurement<int>(s.ActivePairs, new KeyValuePair<string, object?>("server", s.Id))),
            description: "Pairs running, by server");
        _meter.CreateObservableGauge("gray.relay.pool.ready",
            () => servers()
                .Select(s => new Measurement<int>(s.PoolReady, new KeyValuePair<string, object?>("server", s.Id))),
            description: "Data connections waiting in the pool, by server");
        _meter.CreateObservableGauge("gray.relay.pool.target",
            () => servers()
                .Select(s => new Measurement<int>(s.PoolTarget, new KeyValuePair<string, object?>("server", s.Id))),
            description: "Pool size the agent asked for, by server");
    }

    /// <summary>Registers the UDP gauges and counters, read from the live UDP ports at each collection.</summary>
    public void ObserveUdp(Func<IEnumerable<(string Id, int Flows, long Dropped, long Refused)>> servers)
    {
        _meter.CreateObservableGauge("gray.relay.udp.flows",
            () => servers()
                .Select(s => new Measurement<int>(s.Flows, new KeyValuePair<string, object?>("server", s.Id))),
            description: "UDP flows (client addresses and ports with datagrams under way), by server");
        _meter.CreateObservableCounter("gray.relay.udp.datagrams.dropped",
            () => servers().SelectMany(s => new[]
            {
                new Measurement<long>(s.Dropped, new KeyValuePair<string, object?>("server", s.Id),
                    new KeyValuePair<string, object?>("reason", "no_room_or_limit")),
                new Measurement<long>(s.Refused, new KeyValuePair<string, object?>("server", s.Id),
                    new KeyValuePair<string, object?>("reason", "refused")),
            }),
            description: "UDP datagrams dropped, by server: no room toward the agent or client, past a bandwidth " +
                "limit, or of a flow the rules, drain or budgets refused");
    }

    /// <summary>
    /// 1 or 0 for every registered server, whether its agent is connected or not: a series that stays
    /// while the agent is away, so that "agent down" can be alerted on.
    /// </summary>
    public void ObserveAgents(Func<IEnumerable<(string Id, bool Connected)>> servers) =>
        _meter.CreateObservableGauge("gray.relay.agent.connected",
            () => servers().Select(s => new Measurement<int>(s.Connected ? 1 : 0,
                new KeyValuePair<string, object?>("server", s.Id))),
            description: "1 while the server's agent is connected, 0 while it is not, for every registered server");

    /// <summary>A meter from the host's factory is the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }

    public static string ReasonName(RefuseReason reason) => reason switch
    {
        RefuseReason.Paused => "draining",
        RefuseReason.SessionLimit => "port_limit",
        RefuseReason.GlobalLimit => "max_connections",
        RefuseReason.AddressLimit => "per_ip_limit",
        RefuseReason.Denied => "denied",
        RefuseReason.DescriptorsExhausted => "out_of_descriptors",
        _ => "banned",
    };
}
