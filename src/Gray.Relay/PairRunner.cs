// Runs a tunnel's pairs: tells the agent where the client came from (the start frame, or a channel's
// open payload), then splices client and data connection until both directions are done.
using System.Net;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;
using Gray.Relay.Events;

namespace Gray.Relay;

internal sealed class PairRunner(RelayTunnel tunnel)
{
    private long _pairIds;
    private int _active;

    /// <summary>Pairs running now.</summary>
    public int Active => Volatile.Read(ref _active);

    public async Task RunAsync(TcpSession client, DataLink data, CancellationToken cancellationToken,
        ReadOnlyMemory<byte> readFromClient = default)
    {
        var from = client.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.Any, 0);
        MuxChannel? channel = null;
        if (data.Mux is { } mux && (channel = mux.TryOpen(new Start(from).Encode())) is null)
        {
            RelayLog.ClientRefused(tunnel.Logger, tunnel.Id, client.RemoteEndPoint,
                "its multiplexed data connection closed");
            tunnel.Relay.Events.Publish(RelayEventTypes.Refused, tunnel.Id, from.Address,
                reason: "data_connection_closed");
            return;
        }

        long pairId = Interlocked.Increment(ref _pairIds);
        Interlocked.Increment(ref _active);
        var limits = tunnel.Bandwidth.Acquire(from.Address, out var lease); // a: the client, in; b: the agent, out
        try
        {
            if (channel is null) await data.Stream.WriteAsync(new Start(from).Encode(), cancellationToken)
                .ConfigureAwait(false);
            var time = tunnel.Relay.Time;
            tunnel.Relay.Metrics.PairSetup.Record((time.GetUtcNow() - client.ConnectedAt).TotalSeconds,
                new KeyValuePair<string, object?>("server", tunnel.Id));
            RelayLog.PairStarted(tunnel.Logger, tunnel.Id, pairId, client.RemoteEndPoint);
            tunnel.Relay.Events.Publish(RelayEventTypes.PairOpened, tunnel.Id, from.Address);
            var idleTimeout = tunnel.Rules.PairIdleTimeout;
            var result = channel is null
                ? await Splice.RunAsync(client, data.Session, data.PendingRead, idleTimeout, cancellationToken, limits,
                    readFromClient).ConfigureAwait(false)
                : await Splice.RunAsync(client, channel, idleTimeout, cancellationToken, limits, readFromClient)
                    .ConfigureAwait(false);
            RelayLog.PairEnded(tunnel.Logger, tunnel.Id, pairId, result.BytesAToB, result.BytesBToA,
                result.End switch
                {
                    SpliceEnd.Completed => "",
                    SpliceEnd.AFailed => " (the client's side failed)",
                    SpliceEnd.BFailed => " (the agent's side failed)",
                    SpliceEnd.IdleTimeout => " (idle timeout)",
                    _ => " (closed by the relay)",
                });
            tunnel.Relay.Events.Publish(RelayEventTypes.PairClosed, tunnel.Id, from.Address,
                result.BytesAToB, result.BytesBToA, EndName(result.End));
        }
        finally
        {
            Interlocked.Decrement(ref _active);
            tunnel.Bandwidth.Release(lease);
            if (channel is null) data.Release();
        }
    }

    // Names, not Enum.ToString(): nothing is formatted per pair.
    private static string EndName(SpliceEnd end) => end switch
    {
        SpliceEnd.Completed => "completed",
        SpliceEnd.AFailed => "client failed",
        SpliceEnd.BFailed => "agent failed",
        SpliceEnd.IdleTimeout => "idle timeout",
        _ => "closed by the relay",
    };
}
