// Collects this process's meters (Gray.* and the runtime's System.Runtime) with a MeterListener and
// writes them in the Prometheus text format: counters, gauges and histograms (with the buckets the
// instrument advises, else fixed ones).
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Gray.Hosting.Telemetry;

public sealed class PrometheusExporter : IDisposable
{
    /// <summary>Histogram bucket bounds where the instrument advises none, in its unit (seconds for
    /// durations).</summary>
    private static readonly double[] DefaultBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly object _gate = new();
    private readonly Dictionary<Instrument, Dictionary<string, Series>> _series = new();
    private readonly HashSet<string> _meters;

    public PrometheusExporter(params string[] meters)
    {
        _meters = [.. meters, "System.Runtime"];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Contains(instrument.Meter.Name)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The exposition text, after polling the observable instruments.</summary>
    public string Scrape()
    {
        lock (_gate)
        {
            foreach (var series in _series.Values)
            {
                foreach (var s in series.Values) if (s.Observed) s.Value = double.NaN; // gone unless observed again
            }
        }

        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        lock (_gate)
        {
            foreach (var (instrument, series) in _series.OrderBy(e => e.Key.Name, StringComparer.Ordinal))
            {
                string name = MetricName(instrument);
                string type = instrument is Histogram<double> or Histogram<long> or Histogram<int> ? "histogram"
                    : IsMonotonic(instrument) ? "counter" : "gauge";
                if (instrument.Description is { Length: > 0 } help) text.Append("# HELP ").Append(name).Append(' ')
                    .Append(help.Replace('\n', ' ')).Append('\n');
                text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
                foreach (var (labels, s) in series.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (type == "histogram") WriteHistogram(text, name, labels, s);
                    else if (!double.IsNaN(s.Value)) Line(text, name, labels, s.Value);
                }
            }
        }

        return text.ToString();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string labels = Labels(tags);
        lock (_gate)
        {
            if (!_series.TryGetValue(instrument, out var series))
            {
                _series[instrument] = series = new Dictionary<string, Series>();
            }
            if (!series.TryGetValue(labels, out var s)) series[labels] = s = new Series();
            switch (instrument)
            {
                case Histogram<double> or Histogram<long> or Histogram<int>:
                    s.Count++;
                    s.Sum += value;
                    s.Bounds ??= BoundsOf(instrument);
                    s.Buckets ??= new long[s.Bounds.Count];
                    for (int i = 0; i < s.Bounds.Count; i++) if (value <= s.Bounds[i]) s.Buckets[i]++;
                    break;
                case ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double>
                    or ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double>
                    or ObservableUpDownCounter<long> or ObservableUpDownCounter<int> or ObservableUpDownCounter<double>:
                    s.Value = value; // observed: the value itself, cumulative or current
                    s.Observed = true;
                    break;
                default:
                    s.Value = (double.IsNaN(s.Value) ? 0 : s.Value) + value; // Counter, UpDownCounter: sums
                    break;
            }
        }
    }

    private static bool IsMonotonic(Instrument instrument) =>
        instrument is Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long>
            or ObservableCounter<int> or ObservableCounter<double>;

    /// <summary>gray.relay.bytes (unit By) → gray_relay_bytes_total; durations get _seconds.</summary>
    private static string MetricName(Instrument instrument)
    {
        var name = new StringBuilder();
        foreach (char c in instrument.Name) name.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        string suffix = instrument.Unit switch { "s" => "_seconds", "By" => "_bytes", _ => "" };
        if (suffix.Length > 0 && !name.ToString().EndsWith(suffix, StringComparison.Ordinal)) name.Append(suffix);
        if (IsMonotonic(instrument)) name.Append("_total");
        return name.ToString();
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty) return "";
        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            string label = new(key.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
            string text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            pairs.Add($"{label}=\"{text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")}\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    private static IReadOnlyList<double> BoundsOf(Instrument instrument) =>
        (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries is { Count: > 0 } advised
            ? advised
            : DefaultBuckets;

    private static void WriteHistogram(StringBuilder text, string name, string labels, Series s)
    {
        string prefix = labels.Length > 0 ? labels + "," : "";
        var bounds = s.Bounds ?? DefaultBuckets;
        for (int i = 0; i < bounds.Count; i++)
        {
            Line(text, name + "_bucket", prefix + $"le=\"{bounds[i].ToString(CultureInfo.InvariantCulture)}\"",
                s.Buckets?[i] ?? 0);
        }

        Line(text, name + "_bucket", prefix + "le=\"+Inf\"", s.Count);
        Line(text, name + "_sum", labels, s.Sum);
        Line(text, name + "_count", labels, s.Count);
    }

    private static void Line(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0) text.Append('{').Append(labels).Append('}');
        text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    private sealed class Series
    {
        public double Value = double.NaN;
        public bool Observed;
        public long Count;
        public double Sum;
        public IReadOnlyList<double>? Bounds;
        public long[]? Buckets;
    }
}
