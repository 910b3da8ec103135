// The relay's one meter pipeline (OpenTelemetry SDK): its own meter, the runtime's and the process's,
// scraped at /metrics and pushed over OTLP when configured.
using Gray.Hosting.Telemetry;
using OpenTelemetry.Metrics;

namespace Gray.Relay.ControlPlane;

internal static class RelayTelemetry
{
    public static MeterProvider Start(RelayOptions options)
    {
        var builder = MeterPipeline.Create("gray-relay", RelayMetrics.MeterName);
        if (options.HttpListen is not null)
        {
            builder.AddPrometheusExporter(o =>
            {
                o.ScrapeResponseCacheDurationMilliseconds = 0; // every scrape reads the gauges afresh
                o.ScopeInfoEnabled = false; // series keep Gray's names and labels only
            });
        }

        if (options.OtlpEndpoint is { } endpoint) builder.AddOtlp(endpoint, options.OtlpInterval);
        return builder.Build();
    }
}
