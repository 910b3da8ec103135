// TcpServer's accept side: one accept loop, admission at once (bans, pause, limits), refusals as
// resets, the out-of-descriptors shed, and each session's task from handshake to its end.
using System.Net;
using System.Net.Sockets;
using Gray.Net.Internal;
using Microsoft.Extensions.Logging;

namespace Gray.Net;

public partial class TcpServer
{
    // A loop, not a recursion: a long run of synchronous accepts cannot grow the stack.
    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        int failures = 0;
        TimeSpan delay = InitialAcceptRetryDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException error)
            {
                // EMFILE/ENFILE and friends: keep the listener, back off, and try again.
                failures++;
                Interlocked.Increment(ref _acceptErrors);
                if (SocketErrors.IsDescriptorExhaustion(error))
                {
                    Log.AcceptDescriptorsExhausted(Logger, (int)delay.TotalMilliseconds);
                    if (ShedOneConnection(listener)) continue; // descriptors are back: accept again at once
                }
                else
                {
                    Log.AcceptFailed(Logger, error, (int)delay.TotalMilliseconds);
                }

                try
                {
                    await Task.Delay(delay, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Options.MaxAcceptRetryDelay.Ticks));
                continue;
            }

            if (failures > 0)
            {
                Log.AcceptRecovered(Logger, failures);
                failures = 0;
                delay = InitialAcceptRetryDelay;
            }

            Admit(socket);
        }
    }

    // Out of descriptors the kernel keeps completing handshakes into the backlog, where clients would
    // hang: spend the spare descriptor to accept one and refuse it at once, then take a spare again.
    // True if descriptors were back by then (the connection was served). Internal for a test: the
    // accept loop is its only caller.
    internal bool ShedOneConnection(Socket listener)
    {
        if (_reserveDescriptor is null)
        {
            _reserveDescriptor = OpenReserveDescriptor();
            return false;
        }

        _reserveDescriptor.Dispose();
        _reserveDescriptor = null;
        Socket? pending = null;
        try
        {
            if (listener.Poll(0, SelectMode.SelectRead)) pending = listener.Accept();
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
        }

        // Whether descriptors are still exhausted is asked only now, with the connection in hand: a check
        // made before accepting could be stale by then, and shed a connection that came after recovery.
        _reserveDescriptor = OpenReserveDescriptor();
        if (pending is null) return false;
        if (_reserveDescriptor is not null)
        {
            Admit(pending); // a descriptor to spare: not exhausted any more, so serve it
            return true;
        }

        Refuse(pending, SafeRemoteEndPoint(pending), RefuseReason.DescriptorsExhausted);
        _reserveDescriptor = OpenReserveDescriptor();
        return false;
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle? OpenReserveDescriptor()
    {
        try
        {
            return File.OpenHandle(OperatingSystem.IsWindows() ? "NUL" : "/dev/null");
        }
        catch (IOException)
        {
            return null; // none to spare now; try again at the next failure
        }
    }

    private static EndPoint? SafeRemoteEndPoint(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private void Admit(Socket socket)
    {
        EndPoint? remote = SafeRemoteEndPoint(socket); // null: the peer is already gone
        if (remote is not IPEndPoint ip)
        {
            Refuse(socket, remote, RefuseReason.Banned);
            return;
        }

        if (Admission(ip) is { } refused)
        {
            Refuse(socket, remote, refused);
            return;
        }

        Start(ip, session => session.Attach(socket), socket.Dispose);
    }

    /// <summary>
    /// Admits a connection that arrived another way (a WebSocket that a web server accepted) under the same
    /// rules and budgets as an accepted socket, and runs its session. Completes when the session has ended,
    /// at once if the connection was refused (then its transport is aborted).
    /// </summary>
    public Task AcceptAsync(Transport transport)
    {
        RefuseReason? refused = transport.RemoteEndPoint is not IPEndPoint ip ? RefuseReason.Banned
            : !IsStarted && !_acceptsHandedOnly ? RefuseReason.Paused
            : Admission(ip);
        if (refused is { } reason)
        {
            Refuse(transport, reason);
            return Task.CompletedTask;
        }

        return Start((IPEndPoint)transport.RemoteEndPoint!, session => session.Attach(transport), transport.Abort)
            ?? Task.CompletedTask;
    }

    // The admission was taken: make the session and run it (null if it could not be made).
    private Task? Start(IPEndPoint ip, Action<TcpSession> attach, Action close)
    {
        Interlocked.Increment(ref _accepted);
        TcpSession session;
        try
        {
            session = CreateSession();
            attach(session);
        }
        catch (Exception error)
        {
            ReleaseAdmission(ip.Address);
            close();
            Log.CallbackFailed(Logger, error);
            try
            {
                OnAdmissionCanceled(ip); // what CheckAdmission took goes back
            }
            catch (Exception callbackError)
            {
                Log.CallbackFailed(Logger, callbackError);
            }

            return null;
        }

        _sessions[session.Id] = session;
        Interlocked.Increment(ref _sessionsVersion);
        OnSessionAdmitted(session, ip);
        return session.Completion = RunSessionAsync(session);
    }

    // Takes a place in every count (session limit, shared quota, per address) or none.
    private RefuseReason? Admission(IPEndPoint remote)
    {
        IPAddress address = Normalize(remote.Address);
        if (_banned.ContainsKey(address)) return RefuseReason.Banned;
        if (_paused) return RefuseReason.Paused;
        if (Interlocked.Increment(ref _sessionCount) > Options.MaxSessions)
        {
            Interlocked.Decrement(ref _sessionCount);
            return RefuseReason.SessionLimit;
        }

        if (!_perAddress.TryAcquire(address))
        {
            Interlocked.Decrement(ref _sessionCount);
            return RefuseReason.AddressLimit;
        }

        if (Options.Quota is { } quota && !quota.TryAcquire())
        {
            _perAddress.Release(address);
            Interlocked.Decrement(ref _sessionCount);
            return RefuseReason.GlobalLimit;
        }

        // Last, so that whatever a subclass takes here is taken only for a session that will exist.
        if (CheckAdmission(remote) is { } denied)
        {
            ReleaseAdmission(address);
            return denied;
        }

        return null;
    }

    private void ReleaseAdmission(IPAddress address)
    {
        Options.Quota?.Release();
        _perAddress.Release(address);
        Interlocked.Decrement(ref _sessionCount);
    }

    private void Refuse(Socket socket, EndPoint? remote, RefuseReason reason)
    {
        CountRefusal(remote, reason);
        try
        {
            // Linger 0 sends RST: the peer learns at once instead of waiting on a silent socket.
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }

        socket.Dispose();
        NotifyRefused(remote, reason);
    }

    private void Refuse(Transport transport, RefuseReason reason)
    {
        CountRefusal(transport.RemoteEndPoint, reason);
        transport.Abort();
        NotifyRefused(transport.RemoteEndPoint, reason);
    }

    private void CountRefusal(EndPoint? remote, RefuseReason reason)
    {
        Interlocked.Increment(ref _refused);
        Interlocked.Increment(ref _refusedBy[(int)reason]);
        Log.Refused(Logger, remote, reason);
    }

    private void NotifyRefused(EndPoint? remote, RefuseReason reason)
    {
        try
        {
            OnRefused(remote, reason);
        }
        catch (Exception error)
        {
            Log.CallbackFailed(Logger, error);
        }
    }

    private async Task RunSessionAsync(TcpSession session)
    {
        await Task.Yield(); // leave the accept loop at once
        try
        {
            try
            {
                await session.OpenStreamAsync(CreateStreamAsync, Options.HandshakeTimeout, CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (Exception error)
            {
                Interlocked.Increment(ref _handshakeFailures);
                Log.HandshakeFailed(Logger, error, session.Id, session.RemoteEndPoint);
                OnHandshakeFailed(session.RemoteEndPoint, error);
                session.Abandon();
                return;
            }

            await session.RunAttachedAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref _closedBytesSent, session.BytesSent);
            Interlocked.Add(ref _closedBytesReceived, session.BytesReceived);
            _sessions.TryRemove(session.Id, out _);
            Interlocked.Increment(ref _sessionsVersion);
            ReleaseAdmission(((IPEndPoint)session.RemoteEndPoint!).Address);
            try
            {
                OnSessionEnded(session);
            }
            catch (Exception error)
            {
                Log.CallbackFailed(Logger, error);
            }
        }
    }

    private static IPAddress Normalize(IPAddress address) => AddressRules.Normalize(address);
}
