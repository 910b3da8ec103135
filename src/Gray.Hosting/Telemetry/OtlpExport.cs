// OTLP export through the OpenTelemetry SDK: the same meter pipeline that serves /metrics pushes to a
// collector when an endpoint is configured.
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Gray.Hosting.Telemetry;

public static class OtlpExport
{
    /// <summary>How often metrics are pushed, unless configured.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>Pushes the builder's meters over OTLP/HTTP to <paramref name="endpoint"/> every
    /// <paramref name="interval"/>; disposing the provider flushes the last ones.</summary>
    public static MeterProviderBuilder AddOtlp(this MeterProviderBuilder builder, Uri endpoint, TimeSpan interval)
    {
        // With OTLP/HTTP the endpoint is the whole URL; a bare collector address gets the standard path.
        var url = endpoint.AbsolutePath is "" or "/" ? new Uri(endpoint, "/v1/metrics") : endpoint;
        return builder.AddOtlpExporter((exporter, reader) =>
        {
            exporter.Endpoint = url;
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)interval.TotalMilliseconds;
        });
    }
}
