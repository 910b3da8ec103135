// One data connection of the agent: presents its OTP (a DataOpen frame on the control port, or a preface on
// a separate data port); then, pooled, waits for the start frame, dials the
// target and splices (a refusing target closes just this connection), or, multiplexed, does that for
// every channel the relay opens on it (a refusing target resets just that channel).
using System.Net;
using System.Net.Sockets;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;
using TcpClient = Gray.Net.TcpClient;

namespace Gray.Agent;

internal sealed class DataClient(TunnelAgent agent, EndPoint relayData, byte[] opening, TlsClientOptions? tls,
    bool mux = false)
    : TcpClient(relayData, agent.RelayClientOptions())
{
    private readonly TaskCompletionSource _prefaceSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the OTP is on its way (or the connection ended before that).</summary>
    public Task PrefaceSent => _prefaceSent.Task;

    protected override ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        tls is null
            ? base.CreateStreamAsync(transport, cancellationToken)
            : TlsClient.AuthenticateAsync(transport, tls, cancellationToken);

    protected override void OnConnected() => agent.Track(this);

    protected override void OnDisconnected()
    {
        _prefaceSent.TrySetResult();
        agent.Forget(this);
    }

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Stream.WriteAsync(opening, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _prefaceSent.TrySetResult();
        }

        if (mux)
        {
            await RunMultiplexedAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var start = new byte[Wire.StartFrameBytes];
        try
        {
            await Stream.ReadExactlyAsync(start, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EndOfStreamException or IOException)
        {
            return; // the relay let this pooled connection go (restart, expiry, shutdown)
        }

        await ServePairAsync(Start.Decode(start).Client, cancellationToken).ConfigureAwait(false);
    }

    private async Task RunMultiplexedAsync(CancellationToken cancellationToken)
    {
        var connection = new MuxConnection(Stream, opens: false, agent.MuxOptions, accept: (channel, open) =>
        {
            var start = Start.Decode(open.Span);
            return start.Datagrams
                ? ServeFlowAsync(start.Client, new MuxDatagramChannel(channel))
                : ServePairAsync(start.Client, cancellationToken, channel);
        });
        try
        {
            await connection.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolException error)
        {
            AgentLog.DataFailed(agent.Logger, agent.Options.Id,
                $"the relay broke the multiplexing protocol: {error.Message}");
        }
    }

    // One client's UDP flow: datagrams to the target from a socket of the flow's own, and back.
    private async Task ServeFlowAsync(IPEndPoint client, MuxDatagramChannel datagrams)
    {
        var options = agent.Options;
        if (!options.TargetUdp || await agent.ResolveTargetAsync().ConfigureAwait(false) is not { } target)
        {
            agent.Metrics.TargetFailures.Add(1);
            datagrams.Abort(); // this agent serves no UDP (its target is tcp://), or the name did not resolve
            return;
        }

        byte[] header = options.ProxyProtocol == ProxyProtocolVersion.V2
            ? ProxyHeader.Encode(ProxyProtocolVersion.V2, client, agent.PublicEndPoint, datagram: true) : [];
        long pairId = agent.PairStarted();
        try
        {
            AgentLog.PairStarted(agent.Logger, options.Id, pairId, client);
            await new TargetFlow(datagrams, target).RunAsync(header).ConfigureAwait(false);
        }
        finally
        {
            agent.PairEnded();
        }
    }

    // Dials the target for one client and splices it with this connection, or with its channel.
    private async Task ServePairAsync(IPEndPoint client, CancellationToken cancellationToken,
        MuxChannel? channel = null)
    {
        long pairId = agent.PairStarted();
        try
        {
            AgentLog.PairStarted(agent.Logger, agent.Options.Id, pairId, client);
            var target = new TargetConnection(agent);
            try
            {
                await target.ConnectAsync(cancellationToken).ConfigureAwait(false);
                if (agent.Options.ProxyProtocol != ProxyProtocolVersion.None)
                {
                    // Before the client's first byte: the service learns whom it serves.
                    await target.Stream.WriteAsync(ProxyHeader.Encode(agent.Options.ProxyProtocol, client,
                        agent.PublicEndPoint), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception error) when (error is SocketException or TimeoutException or IOException)
            {
                target.Release();
                agent.Metrics.TargetFailures.Add(1);
                AgentLog.TargetFailed(agent.Logger, agent.Options.Id, agent.Options.TargetText, pairId, error.Message);
                channel?.Abort();
                return;
            }

            try
            {
                // Side A is the service, side B the link to the relay, for both kinds of splice.
                var result = channel is null
                    ? await Splice.RunAsync(target, this, cancellationToken: cancellationToken).ConfigureAwait(false)
                    : await Splice.RunAsync(target, channel, idleTimeout: null, cancellationToken)
                        .ConfigureAwait(false);
                var (fromRelay, toRelay) = (result.BytesBToA, result.BytesAToB);
                AgentLog.PairEnded(agent.Logger, agent.Options.Id, pairId, fromRelay, toRelay);
                agent.Metrics.Bytes.Add(fromRelay, new KeyValuePair<string, object?>("direction", "in"));
                agent.Metrics.Bytes.Add(toRelay, new KeyValuePair<string, object?>("direction", "out"));
            }
            finally
            {
                target.Release();
            }
        }
        finally
        {
            agent.PairEnded();
        }
    }
}

/// <summary>The agent's connection to the private service; the data connection's splice drives it.</summary>
internal sealed class TargetConnection(TunnelAgent agent)
    : TcpClient(agent.Options.Target, agent.ClientOptions())
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _released.TrySetResult();

    protected override void OnConnected() => agent.Track(this);

    protected override void OnDisconnected() => agent.Forget(this);

    protected override Task RunAsync(CancellationToken cancellationToken) =>
        _released.Task.WaitAsync(cancellationToken);
}
