// Follows the other nodes' writes (decision 0042): a connection of its own LISTENs on the registry's and
// the nodes' channels. A registry notification reads the registry again and applies it to the live
// tunnels; a nodes notification wakes the membership. After a lost connection it reads everything again,
// since notifications sent meanwhile are gone.
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Gray.Relay;

internal sealed class RegistryListener(RelayContext relay, PostgresRegistryStore store, ClusterMembership membership)
    : IAsyncDisposable
{
    /// <summary>How long to wait before listening again after the connection failed.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>How long a quiet connection waits before it proves it is alive (a vanished host sends no
    /// FIN).</summary>
    private static readonly TimeSpan QuietCheck = TimeSpan.FromSeconds(5);

    /// <summary>Longest a stop waits for the listening loop.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    private readonly ILogger _log = relay.LoggerFactory.CreateLogger<RegistryListener>();
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    // The last read of the registry failed (a dead pooled connection, say): a change may be unapplied.
    private volatile bool _missed;

    public void Start() => _loop = RunAsync(_stopping.Token);

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await store.OpenListenerAsync(stopping).ConfigureAwait(false);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand(
                    $"LISTEN {PostgresRegistryStore.RegistryChannel}; LISTEN {PostgresRegistryStore.NodesChannel}",
                    connection))
                {
                    await listen.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
                }

                Apply(); // what was written before this node listened (at start, or while the connection was lost)
                while (!stopping.IsCancellationRequested)
                {
                    bool notified = await connection.WaitAsync(QuietCheck, stopping).ConfigureAwait(false);
                    if (_missed) Apply(); // a read that failed is tried again until one succeeds
                    if (notified) continue;
                    await using var ping = new NpgsqlCommand("SELECT 1", connection);
                    await ping.ExecuteScalarAsync(stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (error is NpgsqlException or System.IO.IOException or TimeoutException
                                              or InvalidOperationException or OperationCanceledException)
            {
                _log.LogDebug("Listening for registry changes failed: {Reason}; again in {Seconds} s", error.Message,
                    RetryDelay.TotalSeconds);
            }

            try
            {
                await Task.Delay(RetryDelay, relay.Time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification)
    {
        if (notification.Channel == PostgresRegistryStore.NodesChannel) membership.Wake();
        else Apply();
    }

    private void Apply()
    {
        try
        {
            relay.Registry.Reload();
        }
        catch (Exception error) when (error is System.Data.Common.DbException or TimeoutException)
        {
            if (!_missed) _log.LogWarning("Reading the registry again failed: {Reason}", error.Message);
            _missed = true;
            return;
        }

        _missed = false;

        RegistryFollower.Apply(relay, _log);
    }

    /// <summary>Stops listening; a registry that does not answer holds the stop for at most
    /// <see cref="StopTimeout"/> (a connect or a read may be under way).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(StopTimeout).ConfigureAwait(false);
            _stopping.Dispose();
        }
        catch (TimeoutException)
        {
            _log.LogDebug("Stopped without waiting for the registry");
        }
    }
}
