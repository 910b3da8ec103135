// The one meter pipeline of a Gray process (OpenTelemetry SDK): Gray's own meter, the runtime's and
// the process's. The relay adds its /metrics endpoint, the agent a listener of its own, and both OTLP.
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Gray.Hosting.Telemetry;

public static class MeterPipeline
{
    /// <summary>The runtime's own meter (GC, heap, thread pool, exceptions) in .NET 9 and later.</summary>
    public const string RuntimeMeter = "System.Runtime";

    /// <param name="service">The service.name resource: what target_info and OTLP name this process.</param>
    public static MeterProviderBuilder Create(string service, string meter) =>
        Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => resource.Clear().AddService(service, serviceVersion: Version))
            .AddMeter(meter, RuntimeMeter)
            .AddProcessInstrumentation();

    private static readonly string Version = typeof(MeterPipeline).Assembly.GetName().Version?.ToString(3) ?? "0";
}
