// Fire-and-forget work that must not die silently: a fault is logged, and then either the loop is
// restarted or the process stops with a non-zero exit code.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Hosting;

public static partial class Background
{
    /// <summary>Pause before a failed loop is started again.</summary>
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    /// <summary>Runs <paramref name="work"/>; if it faults, logs the fault (it never goes unobserved).</summary>
    public static void Observe(Task work, string name, ILogger logger) =>
        work.ContinueWith(t => LoopFailed(logger, t.Exception!.GetBaseException(), name),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>
    /// Runs a long-lived loop; a fault is logged and the loop restarted, until <paramref name="stopping"/>.
    /// </summary>
    public static async Task SuperviseAsync(Func<CancellationToken, Task> loop, string name, ILogger logger,
        CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await loop(stopping).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                LoopRestarting(logger, error, name, RestartDelay.TotalSeconds);
                try
                {
                    await Task.Delay(RestartDelay, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>For a critical service: a fault stops the process with exit code 1.</summary>
    public static async Task CriticalAsync(Func<Task> service, string name, ILogger logger,
        IHostApplicationLifetime lifetime, ExitStatus exit)
    {
        try
        {
            await service().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception error)
        {
            CriticalFailed(logger, error, name);
            exit.Code = ExitCodes.Failure;
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(300, LogLevel.Error, "{Name} failed")]
    private static partial void LoopFailed(ILogger logger, Exception error, string name);

    [LoggerMessage(301, LogLevel.Error, "{Name} failed; restarting it in {Seconds} s")]
    private static partial void LoopRestarting(ILogger logger, Exception error, string name, double seconds);

    [LoggerMessage(302, LogLevel.Critical, "{Name} failed; stopping the process")]
    private static partial void CriticalFailed(ILogger logger, Exception error, string name);
}
