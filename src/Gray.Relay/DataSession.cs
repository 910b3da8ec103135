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
