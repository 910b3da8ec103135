// One pooled data connection of the agent: presents its OTP, waits for the start frame, dials the
// target and splices. A refusing target closes just this connection.
using System.Net;
using System.Net.Sockets;
using Gray.Net;
using Gray.Protocol;
using Gray.Telemetry;
using TcpClient = Gray.Net.TcpClient;

namespace Gray.Agent;

internal sealed class DataClient(TunnelAgent agent, EndPoint relayData, byte[] otp, TlsClientOptions? tls)
    : TcpClient(relayData, new TcpClientOptions { ConnectTimeout = agent.Options.ConnectTimeout, LoggerFactory = agent.LoggerFactory })
{
    private readonly TaskCompletionSource _prefaceSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the OTP is on its way (or the connection ended before that).</summary>
    public Task PrefaceSent => _prefaceSent.Task;

    protected override ValueTask<Stream> CreateStreamAsync(Socket socket, CancellationToken cancellationToken) =>
        tls is null ? base.CreateStreamAsync(socket, cancellationToken) : TlsClient.AuthenticateAsync(socket, tls, cancellationToken);

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
            await Stream.WriteAsync(DataFrames.Preface(otp), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _prefaceSent.TrySetResult();
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

        IPEndPoint client = DataFrames.ParseStart(start);
        long pairId = agent.PairStarted();
        try
        {
            AgentLog.PairStarted(agent.Logger, agent.Options.Id, pairId, client);
            var target = new TargetConnection(agent);
            try
            {
                await target.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (error is SocketException or TimeoutException or IOException)
            {
                AgentMeter.TargetFailures.Add(1);
                AgentLog.TargetFailed(agent.Logger, agent.Options.Id, agent.Options.TargetText, pairId, error.Message);
                return;
            }

            try
            {
                var result = await Splice.RunAsync(this, target, cancellationToken: cancellationToken).ConfigureAwait(false);
                AgentLog.PairEnded(agent.Logger, agent.Options.Id, pairId, result.BytesAToB, result.BytesBToA);
                AgentMeter.Bytes.Add(result.BytesAToB, new KeyValuePair<string, object?>("direction", "in"));
                AgentMeter.Bytes.Add(result.BytesBToA, new KeyValuePair<string, object?>("direction", "out"));
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
    : TcpClient(agent.Options.Target, new TcpClientOptions { ConnectTimeout = agent.Options.ConnectTimeout, LoggerFactory = agent.LoggerFactory })
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _released.TrySetResult();

    protected override void OnConnected() => agent.Track(this);

    protected override void OnDisconnected() => agent.Forget(this);

    protected override Task RunAsync(CancellationToken cancellationToken) => _released.Task.WaitAsync(cancellationToken);
}
