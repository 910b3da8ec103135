// The agent as a hosted service: its tunnels, metrics, and reloads of its file; its exit code
// becomes the host's.
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Gray.Hosting;
using Gray.Hosting.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Agent;

/// <summary>What an agent process runs: its tunnels, and the file they came from (if any) for reloads.</summary>
public sealed record AgentSetup(IReadOnlyList<AgentOptions> Tunnels, AgentConfigSource? Source,
    IPEndPoint? MetricsListen, Uri? OtlpEndpoint = null);

/// <summary>A file of tunnels, and how to read it again (a reload runs <see cref="Load"/>).</summary>
public sealed record AgentConfigSource(string Path, Func<AgentTunnels> Load);

/// <summary>What one reading of an agent file gives: its tunnels and its log level, if it sets one.</summary>
public sealed record AgentTunnels(IReadOnlyList<AgentOptions> Tunnels, LogLevel? LogLevel);

/// <summary>The agent as a hosted service; its exit code becomes the process's.</summary>
public sealed class AgentService(AgentSetup setup, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime,
    LogControl logs, ExitStatus exit, IMeterFactory? meterFactory = null)
    : BackgroundService
{
    private readonly ILogger _log = loggerFactory.CreateLogger<AgentService>();

    // The agent is critical: if it fails unexpectedly, the process stops with exit code 1.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Background.CriticalAsync(() => RunAsync(stoppingToken), "The agent", _log, lifetime, exit);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var agentMetrics = new AgentMetrics(meterFactory);
        IDisposable? meters;
        try
        {
            meters = AgentTelemetry.Start(setup.MetricsListen, setup.OtlpEndpoint);
        }
        catch (Exception error) when (error is System.Net.HttpListenerException or SocketException)
        {
            Console.Error.WriteLine($"gray agent: cannot serve metrics on {setup.MetricsListen}: {error.Message}");
            exit.Code = ExitCodes.Failure;
            lifetime.StopApplication();
            return;
        }

        using var flushAtStop = meters;
        var tunnels = new TunnelSet(loggerFactory, logs.HumanOutput, agentMetrics, stoppingToken);
        var gate = new SemaphoreSlim(1, 1);
        ReloadTrigger? trigger = null;
        try
        {
            await tunnels.ApplyAsync(setup.Tunnels).ConfigureAwait(false);
            if (setup.Source is { } source)
            {
                trigger = new ReloadTrigger(source.Path, why =>
                    Background.Observe(ReloadAsync(source, why), "Agent configuration reload", _log));
                if (trigger.HangupWasIgnored) AgentLog.HangupTakenBack(_log);
            }

            async Task ReloadAsync(AgentConfigSource source, string why)
            {
                await gate.WaitAsync(stoppingToken).ConfigureAwait(false);
                try
                {
                    var (wanted, level) = source.Load();
                    if (level is { } configured) logs.ApplyConfigured(configured);
                    await tunnels.ApplyAsync(wanted).ConfigureAwait(false);
                    _log.LogInformation("Configuration reloaded ({Trigger}): tunnels {Tunnels}", why,
                        string.Join(", ", wanted.Select(t => t.Id)));
                }
                catch (ConfigException error)
                {
                    _log.LogError("Configuration reload ({Trigger}) refused, the old tunnels stay: {Reason}", why,
                        error.Message);
                }
                finally
                {
                    gate.Release();
                }
            }

            try
            {
                await tunnels.AllEnded.WaitAsync(stoppingToken).ConfigureAwait(false);
                exit.Code = tunnels.WorstExitCode; // every tunnel ended by itself
            }
            catch (OperationCanceledException)
            {
                exit.Code = ExitCodes.Ok; // SIGINT/SIGTERM: a graceful stop
            }
        }
        finally
        {
            trigger?.Dispose();
            lifetime.StopApplication();
        }
    }
}
