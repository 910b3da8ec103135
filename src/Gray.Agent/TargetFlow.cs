// One UDP flow at the agent: a socket of its own toward the target, so that the service sees each client
// as a source port of its own, joined to the flow's channel to the relay. Replies go back over the channel;
// one with no room there is dropped (and counted by the channel), as a datagram may be.
using System.Buffers;
using System.Net;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;

namespace Gray.Agent;

internal sealed class TargetFlow(MuxDatagramChannel datagrams, IPEndPoint target) : UdpClient(target)
{
    /// <summary>
    /// Carries the flow's datagrams to the target, each after <paramref name="header"/> (a PROXY protocol v2
    /// header, or nothing), until the relay ends the flow.
    /// </summary>
    public async Task RunAsync(byte[] header)
    {
        Start();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(header.Length + MuxDatagramChannel.MaxDatagramBytes);
        header.CopyTo(buffer, 0);
        try
        {
            int length;
            while ((length = await datagrams.ReceiveAsync(buffer.AsMemory(header.Length)).ConfigureAwait(false)) >= 0)
            {
                Send(buffer.AsSpan(0, header.Length + length)); // a full socket buffer drops and counts
            }
        }
        catch (Exception error) when (error is MuxChannelResetException or ProtocolException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            datagrams.Abort();
            await StopAsync().ConfigureAwait(false);
        }
    }

    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram) => datagrams.TrySend(datagram);
}
