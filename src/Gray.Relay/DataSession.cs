// A connection on a server's data port: it must present a valid OTP within the deadline, then it
// waits in the pool, watched by a pending zero-byte read, until a client is paired with it; or, if
// multiplexed, it carries a channel for every client until it closes.
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class DataSession(TcpServer listener, RelayTunnel server) : TcpSession(listener)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The zero-byte read that watches the pooled connection; the splice takes it over.</summary>
    public Task? PendingRead { get; private set; }

    /// <summary>Set for a multiplexed connection once admitted: clients open channels on it.</summary>
    public MuxConnection? Mux { get; private set; }

    /// <summary>The pair that used this connection has ended.</summary>
    public void Release() => _released.TrySetResult();

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var preface = new byte[Wire.DataPrefaceBytes];
        bool mux;
        using (var deadline = new Deadline(server.OtpDeadline(ConnectedAt), server.Relay.Time, cancellationToken))
        {
            try
            {
                await Stream.ReadExactlyAsync(preface, deadline.Token).ConfigureAwait(false);
                var received = DataPreface.Decode(preface);
                mux = received.Multiplexed;
                if (!server.TryRedeemOtp(received.Otp))
                {
                    RejectUnauthenticated("bad otp", "unknown, used or expired OTP");
                    return;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                RejectUnauthenticated("no otp", "no OTP within the deadline");
                return;
            }
            catch (EndOfStreamException)
            {
                RejectUnauthenticated("no otp", "closed before presenting an OTP");
                return;
            }
            catch (ProtocolException error)
            {
                RejectUnauthenticated("bad preface", error.Message);
                return;
            }
        }

        server.Relay.Pending.Release(this); // admitted by its OTP: an agent's connection, no longer pending
        if (!mux && server.Mux)
        {
            Reject("a pooled data connection, but the agent asked for multiplexing");
            server.AdmissionFailed();
            return;
        }

        if (mux)
        {
            await RunMultiplexedAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        // The agent sends nothing until the start frame, so any completion here means it closed.
        try
        {
            PendingRead = Stream.ReadAsync(Memory<byte>.Empty, cancellationToken).AsTask();
        }
        catch
        {
            server.AdmissionFailed(); // its pool slot is free again
            throw;
        }

        server.Offer(this, admitted: true);
        var watch = PendingRead.ContinueWith(static (_, state) =>
        {
            var (session, owner) = ((DataSession, RelayTunnel))state!;
            owner.OnPoolConnectionEnded(session);
        }, (this, server), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        Background.Observe(watch, $"Server {server.Id}: pooled connection watch", server.Logger);

        await _released.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunMultiplexedAsync(CancellationToken cancellationToken)
    {
        if (!server.Mux)
        {
            Reject("a multiplexed data connection, but the agent did not ask for multiplexing");
            server.AdmissionFailed();
            return;
        }

        Mux = new MuxConnection(Stream, opens: true, server.MuxOptions, shutdownSend: () => ShutdownSendAsync());
        server.Offer(this, admitted: true);
        try
        {
            await Mux.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolException error)
        {
            RelayLog.DataRejected(server.Logger, server.Id, RemoteEndPoint,
                $"broke the multiplexing protocol: {error.Message}");
        }
        finally
        {
            server.OnPoolConnectionEnded(this);
        }
    }

    private void Reject(string reason) => RelayLog.DataRejected(server.Logger, server.Id, RemoteEndPoint, reason);

    // Anyone can cause these, as often as they like: counted, and logged sparingly.
    private void RejectUnauthenticated(string reason, string detail)
    {
        server.Relay.PreAuth.Failed($"data connection: {reason}", RemoteEndPoint, $"server {server.Id}: {detail}");
    }
}

/// <summary>A connection on a server's client port: paired with a data connection, then spliced.</summary>
internal sealed class ClientSession(TcpServer listener, RelayTunnel server) : TcpSession(listener)
{
    /// <summary>Where peeks land; their content is never read, so one buffer serves every session.</summary>
    private static readonly byte[] PeekBuffer = new byte[1];

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        DataSession? data;
        using (var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        using (var paired = new CancellationTokenSource())
        {
            // Nobody reads a client that waits for a data connection; a peek notices if it leaves.
            var watch = WatchForDepartureAsync(gone, paired.Token);
            data = await server.PairAsync(this, gone.Token).ConfigureAwait(false);
            await paired.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }

        if (data is null) return;
        await server.Pairs.RunAsync(this, data, cancellationToken).ConfigureAwait(false);
    }

    private async Task WatchForDepartureAsync(CancellationTokenSource gone, CancellationToken paired)
    {
        try
        {
            if (await Socket.ReceiveAsync(PeekBuffer, System.Net.Sockets.SocketFlags.Peek, paired)
                .ConfigureAwait(false) == 0)
            {
                await gone.CancelAsync().ConfigureAwait(false); // end of stream before any pairing
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (System.Net.Sockets.SocketException)
        {
            await gone.CancelAsync().ConfigureAwait(false);
        }
    }
}
