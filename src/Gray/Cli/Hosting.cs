// The .NET Generic Host for `gray relay` and `gray agent`: console logging, SIGINT/SIGTERM handling.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Cli;

internal static class Hosting
{
    /// <summary>How long a graceful stop may take before the host gives up on it.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(4);

    public static async Task<int> RunAsync(Action<IServiceCollection> configure)
    {
        DescriptorLimit.Raise();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(
            Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("GRAY_LOG_LEVEL"), ignoreCase: true, out var level)
                ? level
                : LogLevel.Information);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        configure(builder.Services);
        using var host = builder.Build();
        Environment.ExitCode = ExitCodes.Ok;
        await host.RunAsync().ConfigureAwait(false);
        return Environment.ExitCode;
    }
}
