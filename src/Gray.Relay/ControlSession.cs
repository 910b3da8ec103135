// An agent's TLS control connection: hello, challenge, proof, welcome; then pings, pongs and OTPs.
using System.Security.Cryptography;
using Gray.Net;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class ControlSession(TlsServer listener, RelayContext relay) : TlsSession(listener), IPendingSession
{
    private readonly ILogger _log = relay.LoggerFactory.CreateLogger<ControlSession>();
    private int _pendingReleased;

    public void ReleasePending()
    {
        if (Interlocked.Exchange(ref _pendingReleased, 1) == 0) relay.ReleasePending(RemoteEndPoint);
    }

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        RelayTunnel? server = null;
        try
        {
            server = await HandshakeAsync(cancellationToken).ConfigureAwait(false);
            if (server is null) return;
            while (await ControlFrames.ReadAsync(Stream, cancellationToken).ConfigureAwait(false) is { } message)
            {
                server.OnControlMessage(message);
            }
        }
        catch (ProtocolException error)
        {
            RelayLog.ControlProtocolError(_log, RemoteEndPoint, error.Message);
        }
        finally
        {
            // The agent went away: stop serving its ports; pairs already running go on.
            if (server is not null) Background.Observe(server.ShutdownAsync("agent disconnected", keepPairs: true),
                $"Server {server.Id}: shutdown", _log);
        }
    }

    private async Task<RelayTunnel?> HandshakeAsync(CancellationToken cancellationToken)
    {
        var options = relay.Options;
        Hello hello;
        using (var deadline = Deadline(cancellationToken))
        {
            hello = await ReadStepAsync<Hello>(deadline.Token, "hello").ConfigureAwait(false);
        }

        if (hello.Version != Wire.Version)
        {
            return await RefuseAsync(ErrorCode.UnsupportedVersion,
                $"protocol version {hello.Version} is not supported; this relay speaks {Wire.Version}");
        }

        var entry = Auth.IsValidId(hello.Id) ? relay.Registry.Find(hello.Id) : null;
        if (entry is null) return await RefuseAsync(ErrorCode.UnknownId, $"unknown server id '{hello.Id}'");
        int maxPool = options.RulesFor(entry.Id).MaxPool;
        if (hello.Pool < Wire.MinPool || hello.Pool > maxPool)
        {
            return await RefuseAsync(ErrorCode.PoolOutOfRange,
                $"pool size {hello.Pool} is outside {Wire.MinPool}-{maxPool}");
        }

        if (hello.PlainData && !options.AllowPlainData)
        {
            return await RefuseAsync(ErrorCode.PlainDataForbidden, "this relay does not allow plain data connections");
        }

        if (hello.KeyAuth && relay.TrustedKeys is null)
        {
            return await RefuseAsync(ErrorCode.BadProof,
                "this relay has no trusted keys; authenticate with the secret");
        }

        byte[] challenge = RandomNumberGenerator.GetBytes(Wire.ChallengeBytes);
        Send(ControlFrames.Encode(new Challenge(challenge)));
        byte[]? authKey = null;
        using (var deadline = Deadline(cancellationToken))
        {
            if (hello.KeyAuth)
            {
                var signed = await ReadStepAsync<SignedProof>(deadline.Token, "proof").ConfigureAwait(false);
                authKey = relay.TrustedKeys!.Verify(entry.Id, challenge, signed.Signature);
                if (authKey is null) return await RefuseAsync(ErrorCode.BadProof,
                    $"no trusted key of server id '{entry.Id}' made this signature");
            }
            else if (await ReadStepAsync<Proof>(deadline.Token, "proof").ConfigureAwait(false) is var proof
                && !Auth.Verify(entry.Secret, entry.Id, challenge, proof.Mac))
            {
                return await RefuseAsync(ErrorCode.BadProof, $"wrong secret for server id '{entry.Id}'");
            }
        }

        ReleasePending(); // authenticated: no longer counts against its address's pending limit
        bool mux = hello.Mux && options.AllowMux; // not granted: Welcome says so, and the agent pools
        var server = new RelayTunnel(relay, this, entry, hello.Pool, hello.PlainData, authKey, mux);
        try
        {
            await relay.Manager.ActivateAsync(server).ConfigureAwait(false);
        }
        catch (Exception error) when (error is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            RelayLog.ServerStartFailed(_log, error, entry.Id);
            return await RefuseAsync(ErrorCode.Unavailable,
                $"the relay could not open ports {entry.ClientPort}/{entry.DataPort}: {error.Message}");
        }

        Send(ControlFrames.Encode(new Welcome(entry.ClientPort, entry.DataPort, hello.PlainData, options.PingInterval,
            options.PingTimeout, mux)));
        server.Serve();
        return server;
    }

    private Deadline Deadline(CancellationToken cancellationToken) =>
        new(relay.Options.HelloTimeout, relay.Time, cancellationToken);

    private async Task<T> ReadStepAsync<T>(CancellationToken deadline, string step) where T : ControlMessage
    {
        try
        {
            return await ControlFrames.ReadAsync(Stream, deadline).ConfigureAwait(false) switch
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

    private async Task<RelayTunnel?> RefuseAsync(ErrorCode code, string message)
    {
        RelayLog.ControlRefused(_log, RemoteEndPoint, code, message);
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
