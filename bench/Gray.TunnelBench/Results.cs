// Every sample the workloads measured, by setup and metric; the report takes medians.
namespace Gray.TunnelBench;

/// <summary>A measured quantity: its key, how the report names it, its unit, and which way is better.</summary>
internal sealed record Metric(string Key, string Title, string Unit, bool HigherIsBetter);

internal static class Metrics
{
    public static readonly Metric BulkUp = new("bulk1.up", "bulk, 1 stream, client → service", "Gbit/s", true);
    public static readonly Metric BulkDown = new("bulk1.down", "bulk, 1 stream, service → client", "Gbit/s", true);
    public static readonly Metric Bulk8 = new("bulk8.up", "bulk, 8 streams, client → service", "Gbit/s", true);
    public static readonly Metric RequestRate = new("rr.rate", "request/response, 50 connections", "req/s", true);
    public static readonly Metric RequestP50 = new("rr.p50", "request/response latency p50", "µs", false);
    public static readonly Metric RequestP99 = new("rr.p99", "request/response latency p99", "µs", false);
    public static readonly Metric ConnectionRate = new("conn.rate", "connection rate, 20 loops", "conn/s", true);
    public static readonly Metric SetupP50 = new("conn.p50", "connection setup p50", "µs", false);
    public static readonly Metric SetupP99 = new("conn.p99", "connection setup p99", "µs", false);
    public static readonly Metric SingleSetupP50 =
        new("single.p50", "connection setup p50, one at a time", "µs", false);
    public static readonly Metric RequestRelayCpu = new("rr.cpu.relay", "relay CPU per request", "µs", false);
    public static readonly Metric RequestAgentCpu = new("rr.cpu.agent", "agent CPU per request", "µs", false);
    public static readonly Metric ConnectionRelayCpu = new("conn.cpu.relay", "relay CPU per connection", "µs", false);
    public static readonly Metric ConnectionAgentCpu = new("conn.cpu.agent", "agent CPU per connection", "µs", false);
    public static readonly Metric RelayCpu = new("cpu.relay", "relay CPU per GiB forwarded", "s/GiB", false);
    public static readonly Metric AgentCpu = new("cpu.agent", "agent CPU per GiB forwarded", "s/GiB", false);
    public static readonly Metric RelayPerConnection =
        new("idle.relay.per", "relay memory per idle connection", "KiB", false);
    public static readonly Metric AgentPerConnection =
        new("idle.agent.per", "agent memory per idle connection", "KiB", false);

    /// <summary>Bulk upload through a server limited to <see cref="Workloads.Bulk.LimitBytesPerSecond"/>.</summary>
    public static readonly Metric Limited =
        new("limit.up", "bulk, 1 stream up, under a 50 MiB/s limit", "MiB/s", false);

    public static Metric DatagramRate(int size) =>
        new($"udp{size}.rate", $"UDP, {size}-byte datagrams, {Workloads.Datagrams.Flows} flows", "dgram/s", true);

    public static Metric DatagramP50(int size) =>
        new($"udp{size}.p50", $"UDP, {size} bytes, round trip p50", "µs", false);

    public static Metric DatagramP99(int size) =>
        new($"udp{size}.p99", $"UDP, {size} bytes, round trip p99", "µs", false);

    public static Metric DatagramLoss(int size) => new($"udp{size}.loss", $"UDP, {size} bytes, lost", "%", false);

    public static readonly Metric HttpByNameRate =
        new("http.name.rate", "HTTP by host name: request/response, 50 connections", "req/s", true);

    public static readonly Metric HttpByNameConnections =
        new("http.name.conn", "HTTP by host name: connection rate, 20 loops", "conn/s", true);

    public static readonly Metric TlsBySniRate =
        new("tls.sni.rate", "TLS by SNI: request/response, 50 connections", "req/s", true);

    public static readonly Metric TlsBySniConnections =
        new("tls.sni.conn", "TLS by SNI: connection rate, 20 loops (handshake each)", "conn/s", true);

    /// <summary>The SHA-256 echo with half-close (every byte back, in order), and how fast it ran.</summary>
    public static Metric Integrity(int bytes) =>
        new("integrity.rate", $"SHA-256 echo of {bytes / (1024 * 1024)} MiB with half-close", "MiB/s", true);

    /// <summary>The anonymous (private) part of one side's resident memory with no tunneled connection.</summary>
    public static Metric Anonymous(string side) =>
        new($"idle.{side}.anon", $"{side} RSS, idle: anonymous part", "MiB", false);

    /// <summary>Resident memory of one side, idle, just before the burst workload.</summary>
    public static Metric BeforeBurst(string side) =>
        new($"burst.{side}.before", $"{side} RSS before a burst", "MiB", false);

    /// <summary>Resident memory of one side 60 s after the burst workload.</summary>
    public static Metric AfterBurst(string side) =>
        new($"burst.{side}.after", $"{side} RSS 60 s after a 30 s burst", "MiB", false);

    /// <summary>Resident memory of one side with a number of idle tunneled connections.</summary>
    public static Metric Rss(string side, int connections) =>
        new($"idle.{side}.{connections}", $"{side} RSS, {connections:N0} idle connections", "MiB", false);
}

internal sealed class Results
{
    private readonly Dictionary<(string Setup, string Metric), List<double>> _samples = new();
    private readonly Dictionary<string, List<string>> _notes = new();

    public void Add(string setup, Metric metric, double value)
    {
        lock (_samples)
        {
            if (!_samples.TryGetValue((setup, metric.Key), out var list))
                _samples[(setup, metric.Key)] = list = new List<double>();
            list.Add(value);
        }
    }

    public void Note(string setup, string note)
    {
        lock (_notes)
        {
            if (!_notes.TryGetValue(setup, out var list)) _notes[setup] = list = new List<string>();
            if (!list.Contains(note)) list.Add(note);
        }
    }

    public IReadOnlyList<string> NotesFor(string setup) => _notes.TryGetValue(setup, out var list) ? list : [];

    public int SampleCount(string setup, Metric metric) => _samples.TryGetValue((setup, metric.Key), out var list)
        ? list.Count : 0;

    /// <summary>The median of the samples, or null when there are none.</summary>
    public double? Median(string setup, Metric metric)
    {
        if (!_samples.TryGetValue((setup, metric.Key), out var list) || list.Count == 0) return null;
        var sorted = list.Order().ToArray();
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>value(setup) / value(reference), oriented so that above 1 is better.</summary>
    public double? Ratio(string setup, string reference, Metric metric)
    {
        if (Median(setup, metric) is not { } value || Median(reference, metric) is not { } baseline || value <= 0
            || baseline <= 0) return null;
        return metric.HigherIsBetter ? value / baseline : baseline / value;
    }
}
