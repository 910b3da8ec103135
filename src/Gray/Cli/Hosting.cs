// The .NET Generic Host for `gray relay` and `gray agent`: console logging, SIGINT/SIGTERM handling.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Cli;

internal static class Hosting
{
    /// <summary>How long a graceful stop may take before the host gives up on it.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(4);

    /// <summary>The least important level written; a configuration reload may change it.</summary>
    public static LogLevel MinimumLevel { get; set; } = LogLevel.Information;

    /// <summary>True when logs go out as JSON lines: then nothing else may be printed on standard output.</summary>
    public static bool JsonLogs { get; private set; }

    public static bool ParseLogFormat(string text) => text switch
    {
        "text" => false,
        "json" => true,
        _ => throw new ConfigException($"--log-format: '{text}' is neither text nor json"),
    };

    public static async Task<int> RunAsync(Action<IServiceCollection> configure, bool jsonLogs = false)
    {
        DescriptorLimit.Raise();
        JsonLogs = jsonLogs;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        if (jsonLogs)
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.IncludeScopes = true; // the server ID of library lines travels as a scope
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        if (Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("GRAY_LOG_LEVEL"), ignoreCase: true, out var level)) MinimumLevel = level;
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter((_, _, messageLevel) => messageLevel >= MinimumLevel); // read at each line: reloadable
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        configure(builder.Services);
        using var host = builder.Build();
        Environment.ExitCode = ExitCodes.Ok;
        await host.RunAsync().ConfigureAwait(false);
        return Environment.ExitCode;
    }
}
