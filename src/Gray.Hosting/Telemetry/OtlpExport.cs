// OTLP export of the same meters through the OpenTelemetry SDK, when an endpoint is configured.
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Gray.Hosting.Telemetry;

public static class OtlpExport
{
    /// <summary>How often metrics are pushed, unless configured.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts pushing <paramref name="meter"/> and the runtime's meter over OTLP/HTTP; dispose to flush and stop.
    /// </summary>
    public static MeterProvider Start(string meter, Uri endpoint, TimeSpan interval)
    {
        // With OTLP/HTTP the endpoint is the whole URL; a bare collector address gets the standard path.
        var url = endpoint.AbsolutePath is "" or "/" ? new Uri(endpoint, "/v1/metrics") : endpoint;
        return Sdk.CreateMeterProviderBuilder()
            .AddMeter(meter, "System.Runtime")
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = url;
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds =
                    (int)interval.TotalMilliseconds;
            })
            .Build();
    }
}
