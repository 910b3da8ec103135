// RelayTunnel's pool and pairing: OTPs redeemed into admitted data connections, each offered to a
// waiting client or kept in the pool; a client takes one at once or waits in the bounded FIFO; the
// pool is topped up with fresh OTPs whenever a slot is neither ready nor promised.
using Gray.Protocol;

namespace Gray.Relay;

internal sealed partial class RelayTunnel
{
    /// <summary>Single use, unexpired, and issued by this server; compared in constant time.</summary>
    public bool TryRedeemOtp(ReadOnlySpan<byte> otp)
    {
        lock (_gate)
        {
            if (!_otps.TryRedeem(otp)) return false;
            _admitting++;
            return true;
        }
    }

    /// <summary>
    /// What is left of the OTP deadline for a data connection accepted at <paramref name="acceptedAt"/>.
    /// </summary>
    public TimeSpan OtpDeadline(DateTimeOffset acceptedAt)
    {
        var left = _relay.Options.OtpTimeout - (_relay.Time.GetUtcNow() - acceptedAt);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>
    /// An admitted data connection (or a pooled one given back): to the first waiting client, or into
    /// the pool; a multiplexed one goes into the pool and to every waiting client. <paramref name="admitted"/>:
    /// it just redeemed its OTP. False if the tunnel is shut down (the connection is closed).
    /// </summary>
    public void Offer(DataLink data, bool admitted)
    {
        bool handed = false, refused = false;
        List<TaskCompletionSource<DataLink?>>? everyone = null;
        lock (_gate)
        {
            if (admitted && _admitting > 0) _admitting--;
            if (IsShutDown) refused = true;
            else if (_pool.ServesManyClients)
            {
                _pool.Add(data);
                everyone = _waiting.TakeAll();
            }
            else if (!(handed = _waiting.TryHandToFirst(data))) _pool.Add(data);
        }

        if (refused) data.Disconnect();
        foreach (var waiter in everyone ?? []) waiter.TrySetResult(data);
        if (handed) TopUpPool();
    }

    /// <summary>The least busy multiplexed data connection, for a UDP flow; null if none is ready.</summary>
    public Gray.Net.Multiplexing.MuxConnection? TryTakeMux()
    {
        lock (_gate) return _pool.ServesManyClients ? _pool.TryTake()?.Mux : null;
    }

    /// <summary>
    /// A connection that redeemed its OTP was refused after all (it is not of the kind the agent asked for).
    /// </summary>
    public void AdmissionFailed()
    {
        lock (_gate)
        {
            if (_admitting > 0) _admitting--;
        }

        TopUpPool();
    }

    /// <summary>
    /// A connection in the pool ended or showed activity before any pairing (the agent closed it, or
    /// broke protocol): it leaves the pool and the agent is asked for a replacement.
    /// </summary>
    public void OnPoolConnectionEnded(DataLink data)
    {
        bool wasPooled;
        lock (_gate)
        {
            wasPooled = _pool.Remove(data);
        }

        if (!wasPooled) return; // already paired: the splice owns its reads now
        Interlocked.Increment(ref _poolConnectionsEnded);
        if (data.Mux is null) data.Disconnect();
        TopUpPool();
    }

    private int _poolConnectionsEnded;

    /// <summary>Pooled or multiplexed connections that left the pool by ending (not by pairing) so far.</summary>
    public int PoolConnectionsEnded => Volatile.Read(ref _poolConnectionsEnded);

    /// <summary>
    /// A ready data connection for <paramref name="client"/>, waiting in the FIFO if need be; null if none came.
    /// </summary>
    public async Task<DataLink?> PairAsync(Gray.Net.TcpSession client, CancellationToken cancellationToken)
    {
        DataLink? ready;
        LinkedListNode<TaskCompletionSource<DataLink?>>? place = null;
        lock (_gate)
        {
            if (IsShutDown) return null;
            ready = _pool.TryTake();
            if (ready is null) place = _waiting.TryEnqueue(_relay.Options.MaxWaitingClients);
        }

        if (ready is not null)
        {
            if (ready.Mux is null) TopUpPool(); // ask for the replacement at once
            return ready;
        }

        if (place is null)
        {
            RelayLog.ClientRefused(Logger, Id, client.RemoteEndPoint, "too many clients waiting for a data connection");
            return null;
        }

        var waiter = place.Value;
        try
        {
            return await waiter.Task.WaitAsync(_relay.Options.ClientWaitTimeout, _relay.Time, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception error) when (error is TimeoutException or OperationCanceledException)
        {
            DataLink? handed = null;
            lock (_gate)
            {
                if (waiter.Task.IsCompletedSuccessfully) handed = waiter.Task.Result;
                else _waiting.Leave(place);
                waiter.TrySetResult(null);
            }

            if (handed is not null)
            {
                if (!cancellationToken.IsCancellationRequested) return handed;
                if (handed.Mux is null) Offer(handed, admitted: false); // give it back (a multiplexed one never left)
                return null;
            }

            if (error is TimeoutException)
            {
                RelayLog.ClientRefused(Logger, Id, client.RemoteEndPoint, "no data connection became ready in time");
            }

            return null;
        }
    }

    /// <summary>Issues OTPs over the control channel for every pool slot that is neither ready nor promised.</summary>
    public void TopUpPool()
    {
        List<byte[]>? fresh = null;
        lock (_gate)
        {
            if (IsShutDown) return;
            _otps.ExpireDue();
            int missing = Pool - _pool.Count - _otps.Outstanding - _admitting;
            if (missing > 0) fresh = _otps.Issue(missing, _relay.Options.OtpLifetime);
        }

        if (fresh is null) return;
        foreach (var batch in fresh.Chunk(Wire.MaxOtpsPerFrame)) _control.Send(ControlFrames.Encode(new Otps(batch)));
    }
}
