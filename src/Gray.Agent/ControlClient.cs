// The agent's TLS control connection: hello, proof, welcome; then OTPs open data connections,
// pings are answered, and silence past the relay's ping timeout ends the session.
using Gray.Net;
using Gray.Protocol;
using Gray.Hosting;

namespace Gray.Agent;

internal sealed class ControlClient(TunnelAgent agent, TlsClientOptions tls)
    : TlsClient(agent.Options.Relay, tls, agent.ClientOptions())
{
    /// <summary>Deadline for each reply of the relay during the handshake.</summary>
    private static readonly TimeSpan HandshakeStepTimeout = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource<Welcome?> _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<TlsClientOptions?> _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    private async Task<Welcome?> HandshakeAsync(CancellationToken cancellationToken)
    {
        var options = agent.Options;
        using var key = LoadKey(options.KeyFile);
        Send(Frames.Hello(new Hello(Wire.Version, (ushort)options.Pool, options.PlainData, options.Id, KeyAuth: key is not null, Mux: options.Mux)));
        var frame = await ReadStepAsync(cancellationToken).ConfigureAwait(false);
        if (frame is null || Refused(frame.Value)) return null;
        byte[] challenge = Frames.ParseFixed(frame.Value, FrameType.Challenge, Wire.ChallengeBytes);
        Send(key is not null
            ? Frames.Fixed(FrameType.SignedProof, Auth.Sign(key, options.Id, challenge), Wire.SignatureBytes)
            : Frames.Fixed(FrameType.Proof, Auth.Proof(options.Secret, options.Id, challenge), Wire.ProofBytes));
        frame = await ReadStepAsync(cancellationToken).ConfigureAwait(false);
        if (frame is null || Refused(frame.Value)) return null;
        return Frames.ParseWelcome(frame.Value);
    }

    private async Task ServeAsync(Welcome welcome, TlsClientOptions? dataTls, CancellationToken cancellationToken)
    {
        using var silence = new Deadline(welcome.PingTimeout, agent.Time, cancellationToken);
        while (true)
        {
            silence.Restart(welcome.PingTimeout); // any frame from the relay proves it alive
            Frame? frame;
            try
            {
                frame = await Frames.ReadAsync(Stream, silence.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                AgentLog.RelaySilent(agent.Logger, agent.Options.Id, welcome.PingTimeout.TotalSeconds);
                EndReason = "the relay stopped answering";
                return;
            }

            if (frame is null)
            {
                EndReason = "the relay closed the connection";
                return;
            }

            switch (frame.Value.Type)
            {
                case FrameType.Otps:
                    foreach (byte[] otp in Frames.ParseOtps(frame.Value))
                    {
                        Background.Observe(agent.OpenDataConnectionAsync(otp, welcome.DataPort, dataTls, welcome.Mux, ConnectionClosed), "A data connection", agent.Logger);
                    }

                    break;
                case FrameType.Ping:
                    Send(Frames.Ping(FrameType.Pong, Frames.ParsePing(frame.Value)));
                    break;
                case FrameType.Pong:
                    break;
                case FrameType.Error:
                    Refused(frame.Value);
                    return;
                default:
                    throw new ProtocolException($"unexpected {frame.Value.Type} frame");
            }
        }
    }

    private async Task<Frame?> ReadStepAsync(CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(HandshakeStepTimeout, agent.Time, cancellationToken);
        try
        {
            var frame = await Frames.ReadAsync(Stream, deadline.Token).ConfigureAwait(false);
            if (frame is null) EndReason = "the relay closed the connection during the handshake";
            return frame;
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
        catch (Exception error) when (error is IOException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            key.Dispose();
            throw new AgentFatalException($"cannot use the key in {path}: {error.Message}", ExitCodes.Usage);
        }
    }

    /// <summary>True (and Fatal or EndReason set) when the frame is the relay's error.</summary>
    private bool Refused(Frame frame)
    {
        if (frame.Type != FrameType.Error) return false;
        var error = Frames.ParseError(frame);
        string message = $"relay refused server '{agent.Options.Id}': {error.Message}";
        switch (error.Code)
        {
            case ErrorCode.UnknownId or ErrorCode.BadProof or ErrorCode.UnsupportedVersion
                or ErrorCode.PoolOutOfRange or ErrorCode.PlainDataForbidden or ErrorCode.Deleted or ErrorCode.KeyRevoked:
                Fatal = new AgentFatalException(message, ExitCodes.Usage);
                break;
            case ErrorCode.Replaced:
                Fatal = new AgentFatalException($"another agent took over server '{agent.Options.Id}'; exiting once running pairs end",
                    ExitCodes.Failure, finishPairs: true);
                break;
            default:
                EndReason = message;
                break;
        }

        return true;
    }
}
