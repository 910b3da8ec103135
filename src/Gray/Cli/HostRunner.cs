// The .NET Generic Host for `gray relay` and `gray agent`: console logging, SIGINT/SIGTERM handling.
using Gray.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Gray.Cli;

internal static class HostRunner
{
    /// <summary>How long a graceful stop may take before the host gives up on it.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(4);

    /// <summary>Pins the log level: a configuration file's log_level is then ignored.</summary>
    private const string LogLevelVariable = "GRAY_LOG_LEVEL";

    public static bool ParseLogFormat(string text) => text switch
    {
        "text" => false,
        "json" => true,
        _ => throw new ConfigException($"--log-format: '{text}' is neither text nor json"),
    };

    /// <summary>Runs the services until SIGINT/SIGTERM or until one stops the host; returns the exit code.</summary>
    /// <summary>Log lines queued for the console at most; past it, lines are dropped and counted.</summary>
    private const int LogQueueLines = 2048;

    /// <summary>
    /// Run by systemd: its own check (a parent named systemd, which ProtectProc=invisible hides), or
    /// SYSTEMD_EXEC_PID naming this process (systemd 248 and later), or a NOTIFY_SOCKET to tell.
    /// </summary>
    private static bool UnderSystemd() =>
        SystemdHelpers.IsSystemdService()
        || Environment.GetEnvironmentVariable("SYSTEMD_EXEC_PID") == Environment.ProcessId.ToString(
            System.Globalization.CultureInfo.InvariantCulture)
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    public static async Task<int> RunAsync(Action<IServiceCollection> configure, bool jsonLogs,
        LogLevel? configuredLevel = null)
    {
        DescriptorLimit.Raise();
        bool pinned = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable(LogLevelVariable), ignoreCase: true,
            out var pinnedLevel);
        var logs = new LogControl(pinned ? pinnedLevel : configuredLevel ?? LogLevel.Information, pinned, jsonLogs);
        var exit = new ExitStatus();
        var builder = Host.CreateApplicationBuilder(
            new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        // Under systemd: READY=1 once every service has started (the relay's listeners are bound), STOPPING=1
        // at stop, and log lines as journald wants them: a priority prefix, no timestamp of our own.
        bool systemd = UnderSystemd();
        if (systemd)
        {
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        if (jsonLogs)
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.IncludeScopes = true; // the server ID of library lines travels as a scope
            });
        }
        else if (systemd)
        {
            builder.Logging.AddSystemdConsole(o => o.IncludeScopes = true);
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

        // A slow terminal or journal must never stall a socket thread: a full queue drops lines, and the
        // console logger then writes how many it dropped.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o =>
        {
            o.QueueFullMode = Microsoft.Extensions.Logging.Console.ConsoleLoggerQueueFullMode.DropWrite;
            o.MaxQueueLength = LogQueueLines;
        });
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        // read at each line: reloadable
        builder.Logging.AddFilter((_, _, messageLevel) => logs.IsEnabled(messageLevel));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSingleton(logs).AddSingleton(exit);
        configure(builder.Services);
        // Memory back after bursts (decision 0040); started after the role's service, so that its first
        // interval begins once the start's allocations are done.
        builder.Services.AddHostedService<MemoryReturn>();
        using var host = builder.Build();
        await host.RunAsync().ConfigureAwait(false);
        return exit.Code;
    }
}
