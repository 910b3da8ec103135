// The agent's TLS control connection: hello, proof, welcome; then OTPs open data connections,
// pings are answered, and silence past the relay's ping timeout ends the session.
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Gray.Protocol;
using Gray.Hosting;

namespace Gray.Agent;

internal sealed class ControlClient(TunnelAgent agent, TlsClientOptions tls)
    : TlsClient(agent.Options.Relay, tls, agent.RelayClientOptions())
{
    /// <summary>Deadline for each reply of the relay during the handshake.</summary>
    private static readonly TimeSpan HandshakeStepTimeout = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource<Welcome?> _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<TlsClientOptions?> _serving =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The relay's welcome, or null if the handshake failed (see Fatal and EndReason).</summary>
    public Task<Welcome?> Welcomed => _welcomed.Task;

    public AgentFatalException? Fatal { get; private set; }

    public string? EndReason { get; private set; }

    /// <summary>Lets OTPs open data connections, with these TLS options (null: plain).</summary>
    public void StartServing(TlsClientOptions? dataTls) => _serving.TrySetResult(dataTls);

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var welcome = await HandshakeAsync(cancellationToken).ConfigureAwait(false);
            _welcomed.TrySetResult(welcome);
            if (welcome is null) return;
            var dataTls = await _serving.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            await ServeAsync(welcome, dataTls, cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolException error)
        {
            EndReason = $"protocol error: {error.Message}";
        }
        finally
        {
            _welcomed.TrySetResult(null);
        }
    }

    protected override void OnError(Exception error) => EndReason ??= error.Message;

    /// <summary>What the relay's listings show for this agent: the program and its version.</summary>
    private static readonly string AgentSoftware =
        "gray/" + (typeof(ControlClient).Assembly.GetName().Version?.ToString(3) ?? "0");

    private async Task<Welcome?> HandshakeAsync(CancellationToken cancellationToken)
    {
        var options = agent.Options;
        using var key = LoadKey(options.KeyFile);
        Send(ControlFrames.Encode(new Hello(Wire.Version, (ushort)options.Pool, options.PlainData, options.Id,
            KeyAuth: key is not null, Mux: options.EffectiveMux, Software: AgentSoftware,
            ProxyProtocol: options.ProxyProtocol, Cluster: true)));
        var message = await ReadStepAsync(cancellationToken).ConfigureAwait(false);
        if (message is null || Refused(message)) return null;
        byte[] challenge = Expect<Challenge>(message).Nonce;
        // The certificate this connection received: a man in the middle's differs from the relay's own.
        byte[] binding = Auth.ChannelBinding(new X509Certificate2(SslStream.RemoteCertificate!));
        Send(ControlFrames.Encode(key is not null
            ? new SignedProof(Auth.Sign(key, options.Id, challenge, binding))
            : new Proof(Auth.Proof(options.Secret, options.Id, challenge, binding))));
        message = await ReadStepAsync(cancellationToken).ConfigureAwait(false);
        if (message is null || Refused(message)) return null;
        return Expect<Welcome>(message);
    }

    private async Task ServeAsync(Welcome welcome, TlsClientOptions? dataTls, CancellationToken cancellationToken)
    {
        using var silence = new Deadline(welcome.PingTimeout, agent.Time, cancellationToken);
        while (true)
        {
            silence.Restart(welcome.PingTimeout); // any frame from the relay proves it alive
            ControlMessage? message;
            try
            {
                message = await ControlFrames.ReadAsync(Stream, silence.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                AgentLog.RelaySilent(agent.Logger, agent.Options.Id, welcome.PingTimeout.TotalSeconds);
                EndReason = "the relay stopped answering";
                return;
            }

            switch (message)
            {
                case null:
                    EndReason = "the relay closed the connection";
                    return;
                case Otps otps:
                    foreach (byte[] otp in otps.Values)
                    {
                        Background.Observe(agent.OpenDataConnectionAsync(otp, welcome.DataPort, dataTls, welcome.Mux,
                            ConnectionClosed), "A data connection", agent.Logger);
                    }

                    break;
                case Ping ping:
                    Send(ControlFrames.Encode(new Pong(ping.Nonce)));
                    break;
                case Pong:
                    break;
                case ClusterNodes nodes:
                    agent.NodesLearned?.Invoke(nodes);
                    break;
                case ErrorMessage:
                    Refused(message);
                    return;
                default:
                    throw new ProtocolException($"unexpected {message.Type} frame");
            }
        }
    }

    private async Task<ControlMessage?> ReadStepAsync(CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(HandshakeStepTimeout, agent.Time, cancellationToken);
        try
        {
            var message = await ControlFrames.ReadAsync(Stream, deadline.Token).ConfigureAwait(false);
            if (message is null) EndReason = "the relay closed the connection during the handshake";
            return message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            EndReason = "the relay did not answer the handshake in time";
            return null;
        }
    }

    private static System.Security.Cryptography.ECDsa? LoadKey(string? path)
    {
        if (path is null) return null;
        var key = System.Security.Cryptography.ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            return key;
        }
        catch (Exception error)
            when (error is IOException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            key.Dispose();
            throw new AgentFatalException($"cannot use the key in {path}: {error.Message}", ExitCodes.Usage);
        }
    }

    private static T Expect<T>(ControlMessage message) where T : ControlMessage =>
        message as T ?? throw new ProtocolException($"expected {typeof(T).Name}, got {message.Type}");

    /// <summary>True (and Fatal or EndReason set) when the message is the relay's error.</summary>
    private bool Refused(ControlMessage message)
    {
        if (message is not ErrorMessage error) return false;
        string reason = $"relay refused server '{agent.Options.Id}': {error.Message}";
        switch (error.Code)
        {
            case ErrorCode.UnknownId or ErrorCode.BadProof or ErrorCode.UnsupportedVersion
                or ErrorCode.PoolOutOfRange or ErrorCode.PlainDataForbidden or ErrorCode.Deleted
                or ErrorCode.KeyRevoked:
                Fatal = new AgentFatalException(reason, ExitCodes.Usage);
                break;
            case ErrorCode.Replaced:
                Fatal = new AgentFatalException($"another agent took over server '{agent.Options.Id}'; exiting once " +
                    $"running pairs end",
                    ExitCodes.Failure, finishPairs: true);
                break;
            default:
                EndReason = reason;
                break;
        }

        return true;
    }
}
