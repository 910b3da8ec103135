// A connection on the control port (TLS), or an agent's WebSocket on the control plane's port. Its first
// frame says what it is: a Hello begins an agent's control session (challenge, proof, welcome; then
// pings, pongs and OTPs); a DataOpen makes it a data connection of that server's pool, admitted by its
// OTP (protocol version 3).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class ControlSession(TlsServer listener, RelayContext relay) : TlsSession(listener)
{
    private readonly ILogger _log = relay.ControlLog;

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        RelayTunnel? server = null;
        try
        {
            ControlMessage first;
            using (var deadline = Deadline(cancellationToken))
            {
                first = await ReadStepAsync<ControlMessage>(deadline.Token, "hello", Wire.MaxHelloFrameBytes)
                    .ConfigureAwait(false);
            }

            if (first is DataOpen open)
            {
                await ServeDataAsync(open, cancellationToken).ConfigureAwait(false);
                return;
            }

            server = await HandshakeAsync(first as Hello ?? throw new ProtocolException(
                $"expected hello or a data connection's open, got {first.Type}"), cancellationToken)
                .ConfigureAwait(false);
            if (server is null) return;
            while (await ControlFrames.ReadAsync(Stream, cancellationToken).ConfigureAwait(false) is { } message)
            {
                server.OnControlMessage(message);
            }
        }
        catch (ProtocolException error)
        {
            if (server is null) relay.PreAuth.Failed("control handshake", RemoteEndPoint, error.Message);
            else RelayLog.ControlProtocolError(_log, RemoteEndPoint, error.Message);
        }
        finally
        {
            // The agent went away: stop serving its ports; pairs already running go on.
            if (server is not null) Background.Observe(server.ShutdownAsync("agent disconnected", keepPairs: true),
                $"Server {server.Id}: shutdown", _log);
        }
    }

    // Hello, challenge, proof; nothing that depends on the ID is said before a valid proof (decision 0034).
    private async Task<RelayTunnel?> HandshakeAsync(Hello hello, CancellationToken cancellationToken)
    {
        var options = relay.Options;
        var address = (RemoteEndPoint as System.Net.IPEndPoint)?.Address ?? System.Net.IPAddress.None;
        if (hello.Version is < Wire.MinVersion or > Wire.Version)
        {
            relay.PreAuth.Failed("unsupported version", RemoteEndPoint, $"version {hello.Version}");
            return await RefuseAsync(ErrorCode.UnsupportedVersion,
                $"protocol version {hello.Version} is not supported; this relay speaks {Wire.Version}", quietly: true);
        }

        if (relay.Backoff.IsBlocked(address, out var retryAfter))
        {
            relay.PreAuth.Failed("backing off", RemoteEndPoint, $"server id '{hello.Id}'");
            return await RefuseAsync(ErrorCode.TooManyAttempts, $"too many failed logins from this address; retry " +
                $"in {Math.Ceiling(retryAfter.TotalSeconds):0} s", quietly: true);
        }

        byte[] challenge = RandomNumberGenerator.GetBytes(Wire.ChallengeBytes);
        Send(ControlFrames.Encode(new Challenge(challenge)));
        ControlMessage proof;
        using (var deadline = Deadline(cancellationToken))
        {
            proof = hello.KeyAuth
                ? await ReadStepAsync<SignedProof>(deadline.Token, "proof", Wire.MaxProofFrameBytes)
                    .ConfigureAwait(false)
                : await ReadStepAsync<Proof>(deadline.Token, "proof", Wire.MaxProofFrameBytes).ConfigureAwait(false);
        }

        byte[] binding = Auth.ChannelBinding(new X509Certificate2(SslStream.LocalCertificate!));
        if (relay.Logins.Verify(relay, hello, challenge, binding, proof) is not var (entry, authKey))
        {
            relay.Backoff.Failed(address);
            relay.PreAuth.Failed("bad proof", RemoteEndPoint, $"server id '{hello.Id}'");
            return await RefuseAsync(ErrorCode.BadProof,
                $"authentication failed for server id '{LogText.Escape(hello.Id)}' (an unknown ID, a wrong secret " +
                "or key, or a secret where the server needs a key)", quietly: true);
        }

        relay.Backoff.Succeeded(address);
        relay.Pending.Release(this); // authenticated: an agent's connection, no longer pending
        int maxPool = options.RulesFor(entry.Id).MaxPool;
        if (hello.Pool < Wire.MinPool || hello.Pool > maxPool)
        {
            return await RefuseAsync(ErrorCode.PoolOutOfRange,
                $"pool size {hello.Pool} is outside {Wire.MinPool}-{maxPool}");
        }

        // A WebSocket's agent sends its data connections the same way: it may reach nothing else.
        bool overWebSocket = Transport is WebSocketTransport;
        if (hello.PlainData && (overWebSocket || !options.AllowPlainData))
        {
            return await RefuseAsync(ErrorCode.PlainDataForbidden, overWebSocket
                ? "plain data connections need the control port over TCP, not a WebSocket"
                : "this relay does not allow plain data connections (allow_plain_data: true in the relay's " +
                "file allows them)");
        }

        bool mux = hello.Mux && options.AllowMux; // not granted: Welcome says so, and the agent pools
        if (entry.Protocols.HasFlag(ServerProtocols.Udp) && !mux)
        {
            return await RefuseAsync(ErrorCode.Unavailable, $"server '{entry.Id}' carries UDP: its flows need " +
                "multiplexed data connections (an agent with --mux or a udp:// target, and allow_mux on the relay)");
        }

        // One port for agents unless this server, plain data or an older agent needs its own data port.
        bool separate = !overWebSocket
            && (hello.PlainData || hello.Version < 3 || options.RulesFor(entry.Id).SeparateDataPort);
        var server = new RelayTunnel(relay, this, entry, hello.Pool, hello.PlainData, authKey, mux, separate)
        {
            Software = hello.Software,
            ProxyProtocol = hello.ProxyProtocol,
            AgentFollowsCluster = hello.Cluster,
        };
        try
        {
            await relay.Manager.ActivateAsync(server).ConfigureAwait(false);
        }
        catch (Exception error) when (error is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            RelayLog.ServerStartFailed(_log, error, entry.Id);
            return await RefuseAsync(ErrorCode.Unavailable,
                $"the relay could not open ports {entry.ClientPort?.ToString() ?? "-"}/{entry.DataPort}: " +
                error.Message);
        }

        // Data port 0: data connections come to this port; client port 0: host names only.
        Send(ControlFrames.Encode(new Welcome(entry.ClientPort ?? 0, separate ? entry.DataPort : 0, hello.PlainData,
            options.PingInterval, options.PingTimeout, mux)));
        server.SendNodes();
        server.Serve();
        relay.Events.Publish(Events.RelayEventTypes.AgentConnected, entry.Id,
            (RemoteEndPoint as System.Net.IPEndPoint)?.Address);
        return server;
    }

    // A data connection on the control port: its server must have a live agent session, and its OTP
    // decides; any failure looks like a bad OTP to the sender.
    private async Task ServeDataAsync(DataOpen open, CancellationToken cancellationToken)
    {
        if (relay.Manager.Find(open.Id) is not { } server)
        {
            relay.PreAuth.Failed("data connection: bad otp", RemoteEndPoint,
                $"server '{LogText.Escape(open.Id)}' has no agent session");
            return;
        }

        await DataLink.ServeAsync(this, server, open.Kind, open.Otp, cancellationToken).ConfigureAwait(false);
    }

    private Deadline Deadline(CancellationToken cancellationToken) =>
        new(relay.Options.HelloTimeout, relay.Time, cancellationToken);

    private async Task<T> ReadStepAsync<T>(CancellationToken deadline, string step, int maxFrameBytes)
        where T : ControlMessage
    {
        try
        {
            return await ControlFrames.ReadAsync(Stream, maxFrameBytes, deadline).ConfigureAwait(false) switch
            {
                null => throw new ProtocolException($"closed before its {step}"),
                T expected => expected,
                var other => throw new ProtocolException($"expected {step}, got {other.Type}"),
            };
        }
        catch (OperationCanceledException) when (!ConnectionClosed.IsCancellationRequested)
        {
            throw new ProtocolException($"no {step} within {relay.Options.HelloTimeout.TotalSeconds:0.#} s");
        }
    }

    // A refusal that anyone can cause (quietly) goes to the pre-auth log, which its caller has fed.
    private async Task<RelayTunnel?> RefuseAsync(ErrorCode code, string message, bool quietly = false)
    {
        if (!quietly) RelayLog.ControlRefused(_log, RemoteEndPoint, code, message);
        Send(ControlFrames.Encode(new ErrorMessage(code, message)));
        using var flush = new CancellationTokenSource(relay.Options.HelloTimeout);
        try
        {
            await FlushAsync(flush.Token).ConfigureAwait(false);
            await ShutdownSendAsync(flush.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }
}
