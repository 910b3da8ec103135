// Long-lived loops never die silently: failures are logged, loops restarted, critical ones stop the process.
using Gray.Hosting;
using Microsoft.Extensions.Hosting;
using Gray.Tests.Harness;
using Microsoft.Extensions.Logging;

namespace Gray.Tests;

public class SupervisionTests
{
    [Fact]
    public async Task A_failing_loop_is_logged_and_restarted()
    {
        var log = new ListLogger();
        int attempts = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Background.SuperviseAsync(_ =>
        {
            if (++attempts < 3) throw new InvalidOperationException($"boom {attempts}");
            return Task.CompletedTask;
        }, "the test loop", log, stop.Token);
        Assert.Equal(3, attempts);
        Assert.Equal(2, log.Entries.Count(
            e => e.Level == LogLevel.Error && e.Message.Contains("the test loop failed; restarting")));
    }

    [Fact]
    public async Task A_faulted_background_task_is_logged_not_lost()
    {
        var log = new ListLogger();
        Background.Observe(Task.FromException(new InvalidOperationException("lost?")), "fire and forget", log);
        await Wait.UntilAsync(() => log.Entries.Any(
            e => e.Message.Contains("fire and forget failed") && e.Error?.Message == "lost?"), "logged");
    }

    [Fact]
    public async Task A_failing_critical_service_stops_the_process_with_exit_code_1()
    {
        var log = new ListLogger();
        var lifetime = new Lifetime();
        var exit = new ExitStatus();
        await Background.CriticalAsync(
            () => throw new InvalidOperationException("dead"), "the service", log, lifetime, exit);
        Assert.Equal(ExitCodes.Failure, exit.Code);
        Assert.True(lifetime.Stopped);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Critical && e.Message.Contains("stopping the process"));
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public bool Stopped { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopped = true;
    }
}
