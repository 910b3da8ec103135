// The agent's meter pipeline: /metrics on its own small listener when asked (--metrics), OTLP when
// configured. The agent has no HTTP server otherwise, so it does not carry Kestrel for this.
using System.Net;
using Gray.Hosting.Telemetry;
using OpenTelemetry.Metrics;

namespace Gray.Agent;

internal static class AgentTelemetry
{
    /// <summary>The pipeline, or null when neither is asked for: an agent without them does not load the
    /// OpenTelemetry SDK at all (memory, decision 0008).</summary>
    public static IDisposable? Start(IPEndPoint? metricsListen, Uri? otlpEndpoint) =>
        metricsListen is null && otlpEndpoint is null ? null : Build(metricsListen, otlpEndpoint);

    // A method of its own: the JIT loads OpenTelemetry only when it compiles this one.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static MeterProvider Build(IPEndPoint? metricsListen, Uri? otlpEndpoint)
    {
        var builder = MeterPipeline.Create("gray-agent", AgentMetrics.MeterName);
        if (metricsListen is { } endPoint)
        {
            builder.AddPrometheusHttpListener(o =>
            {
                o.Host = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                    ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
                o.Port = endPoint.Port;
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                o.ScopeInfoEnabled = false;
            });
        }

        if (otlpEndpoint is { } endpoint) builder.AddOtlp(endpoint, OtlpExport.DefaultInterval);
        return builder.Build();
    }
}
