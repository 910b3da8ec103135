// Exponential backoff with jitter, and a loop that keeps a connection alive with it.
using Gray.Net.Internal;
using Microsoft.Extensions.Logging;

namespace Gray.Net;

public sealed class BackoffOptions
{
    public TimeSpan Initial { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan Maximum { get; set; } = TimeSpan.FromSeconds(30);

    public double Multiplier { get; set; } = 2.0;

    /// <summary>Each delay is scaled by a random factor in [1 - Jitter, 1 + Jitter].</summary>
    public double Jitter { get; set; } = 0.2;
}

/// <summary>Delays that grow from Initial to Maximum; Reset() after a success.</summary>
public sealed class ExponentialBackoff(BackoffOptions options)
{
    private double _nextMs = options.Initial.TotalMilliseconds;

    public TimeSpan Next()
    {
        double baseMs = _nextMs;
        _nextMs = Math.Min(_nextMs * options.Multiplier, options.Maximum.TotalMilliseconds);
        double factor = 1 + options.Jitter * (2 * Random.Shared.NextDouble() - 1);
        return TimeSpan.FromMilliseconds(Math.Min(baseMs * factor, options.Maximum.TotalMilliseconds));
    }

    public void Reset() => _nextMs = options.Initial.TotalMilliseconds;
}

public static class Reconnector
{
    /// <summary>
    /// Runs <paramref name="session"/> again and again. The session calls the Action it is given once it
    /// is connected, which resets the backoff. Ends when cancelled, or rethrows an error that
    /// <paramref name="isFatal"/> accepts.
    /// </summary>
    public static async Task RunAsync(Func<Action, CancellationToken, Task> session, BackoffOptions options,
        Func<Exception, bool>? isFatal, ILogger? logger, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var backoff = new ExponentialBackoff(options);
        while (!cancellationToken.IsCancellationRequested)
        {
            string reason;
            try
            {
                await session(backoff.Reset, cancellationToken).ConfigureAwait(false);
                reason = "connection closed";
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (isFatal?.Invoke(error) != true)
            {
                reason = error.Message;
            }

            if (cancellationToken.IsCancellationRequested) return;
            TimeSpan delay = backoff.Next();
            if (logger is not null) Log.Reconnecting(logger, (int)delay.TotalMilliseconds, reason);
            try
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
