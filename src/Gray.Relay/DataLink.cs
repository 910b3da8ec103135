// An agent's data connection once its OTP admitted it, whichever port it came to (the control port, or
// its server's separate data port): pooled, it waits in the pool, watched by a pending zero-byte read,
// until a client is paired with it; multiplexed, it carries a channel for every client until it closes.
using Gray.Hosting;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;

namespace Gray.Relay;

internal sealed class DataLink
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RelayTunnel _server;

    private DataLink(TcpSession session, RelayTunnel server)
    {
        Session = session;
        _server = server;
    }

    /// <summary>The connection itself: the splice drives it.</summary>
    public TcpSession Session { get; }

    public Stream Stream => Session.Stream;

    /// <summary>The zero-byte read that watches the pooled connection; the splice takes it over.</summary>
    public Task? PendingRead { get; private set; }

    /// <summary>Set for a multiplexed connection once admitted: clients open channels on it.</summary>
    public MuxConnection? Mux { get; private set; }

    /// <summary>The pair that used this connection has ended.</summary>
    public void Release() => _released.TrySetResult();

    public void Disconnect() => Session.Disconnect();

    /// <summary>
    /// Checks <paramref name="otp"/> and, if it admits the connection, serves it until it ends. Anything
    /// that fails before the OTP is an outsider's doing: counted, and logged sparingly.
    /// </summary>
    public static async Task ServeAsync(TcpSession session, RelayTunnel server, DataConnectionKind kind,
        byte[] otp, CancellationToken cancellationToken)
    {
        if (!server.TryRedeemOtp(otp))
        {
            RejectUnauthenticated(session, server, "bad otp", "unknown, used or expired OTP");
            return;
        }

        server.Relay.Pending.Release(session); // admitted by its OTP: an agent's connection, no longer pending
        bool mux = kind == DataConnectionKind.Multiplexed;
        if (mux != server.Mux)
        {
            RelayLog.DataRejected(server.Logger, server.Id, session.RemoteEndPoint, mux
                ? "a multiplexed data connection, but the agent did not ask for multiplexing"
                : "a pooled data connection, but the agent asked for multiplexing");
            server.AdmissionFailed();
            return;
        }

        var link = new DataLink(session, server);
        await (mux ? link.RunMultiplexedAsync(cancellationToken) : link.RunPooledAsync(cancellationToken))
            .ConfigureAwait(false);
    }

    public static void RejectUnauthenticated(TcpSession session, RelayTunnel server, string reason, string detail) =>
        server.Relay.PreAuth.Failed($"data connection: {reason}", session.RemoteEndPoint,
            $"server {server.Id}: {detail}");

    private async Task RunPooledAsync(CancellationToken cancellationToken)
    {
        // The agent sends nothing until the start frame, so any completion here means it closed.
        try
        {
            PendingRead = Stream.ReadAsync(Memory<byte>.Empty, cancellationToken).AsTask();
        }
        catch
        {
            _server.AdmissionFailed(); // its pool slot is free again
            throw;
        }

        _server.Offer(this, admitted: true);
        var watch = PendingRead.ContinueWith(static (_, state) =>
        {
            var (link, owner) = ((DataLink, RelayTunnel))state!;
            owner.OnPoolConnectionEnded(link);
        }, (this, _server), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        Background.Observe(watch, $"Server {_server.Id}: pooled connection watch", _server.Logger);

        await _released.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunMultiplexedAsync(CancellationToken cancellationToken)
    {
        Mux = new MuxConnection(Stream, opens: true, _server.MuxOptions,
            shutdownSend: () => Session.ShutdownSendAsync());
        _server.Offer(this, admitted: true);
        try
        {
            await Mux.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolException error)
        {
            RelayLog.DataRejected(_server.Logger, _server.Id, Session.RemoteEndPoint,
                $"broke the multiplexing protocol: {error.Message}");
        }
        finally
        {
            _server.OnPoolConnectionEnded(this);
        }
    }
}
