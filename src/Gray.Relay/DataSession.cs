// A connection on a server's separate data port (data_port: separate, plain data, or an older agent):
// it must present its preface with a valid OTP within the deadline; then it is a DataLink.
using Gray.Net;
using Gray.Protocol;

namespace Gray.Relay;

internal sealed class DataSession(TcpServer listener, RelayTunnel server) : TcpSession(listener)
{
    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var preface = new byte[Wire.DataPrefaceBytes];
        DataPreface received;
        using (var deadline = new Deadline(server.OtpDeadline(ConnectedAt), server.Relay.Time, cancellationToken))
        {
            try
            {
                await Stream.ReadExactlyAsync(preface, deadline.Token).ConfigureAwait(false);
                received = DataPreface.Decode(preface);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                DataLink.RejectUnauthenticated(this, server, "no otp", "no OTP within the deadline");
                return;
            }
            catch (EndOfStreamException)
            {
                DataLink.RejectUnauthenticated(this, server, "no otp", "closed before presenting an OTP");
                return;
            }
            catch (ProtocolException error)
            {
                DataLink.RejectUnauthenticated(this, server, "bad preface", error.Message);
                return;
            }
        }

        await DataLink.ServeAsync(this, server, received.Kind, received.Otp, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A connection on a server's client port: paired with a data connection, then spliced.</summary>
internal sealed class ClientSession(TcpServer listener, RelayTunnel server) : TcpSession(listener)
{
    /// <summary>Where peeks land; their content is never read, so one buffer serves every session.</summary>
    private static readonly byte[] PeekBuffer = new byte[1];

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        DataLink? data;
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
