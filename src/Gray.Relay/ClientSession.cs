// A client of a server: on the server's own client port (ClientSession), or routed to it by name on a
// shared port (HostRouting). Either way it waits for a data connection, then is spliced with it.
using System.Net.Sockets;
using Gray.Net;

namespace Gray.Relay;

/// <summary>A connection on a server's client port: paired with a data connection, then spliced.</summary>
internal sealed class ClientSession(TcpServer listener, RelayTunnel server) : TcpSession(listener)
{
    protected override Task RunAsync(CancellationToken cancellationToken) =>
        ClientArrival.ServeAsync(this, server, default, cancellationToken);
}

internal static class ClientArrival
{
    /// <summary>Where peeks land; their content is never read, so one buffer serves every session.</summary>
    private static readonly byte[] PeekBuffer = new byte[1];

    /// <summary>
    /// Pairs <paramref name="client"/> with one of <paramref name="server"/>'s data connections and splices
    /// them; <paramref name="readFromClient"/> (bytes a shared port read to route it) reach the agent first.
    /// </summary>
    public static async Task ServeAsync(TcpSession client, RelayTunnel server, ReadOnlyMemory<byte> readFromClient,
        CancellationToken cancellationToken)
    {
        DataLink? data;
        using (var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        using (var paired = new CancellationTokenSource())
        {
            // Nobody reads a client that waits for a data connection; a peek notices if it leaves. An
            // in-process one (the HTTP entry point's) has no socket: its wait ends with the client's wait.
            var watch = client.Transport is InProcessTransport ? Task.CompletedTask
                : WatchForDepartureAsync(client.Socket, gone, paired.Token);
            data = await server.PairAsync(client, gone.Token).ConfigureAwait(false);
            await paired.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }

        if (data is null) return;
        await server.Pairs.RunAsync(client, data, cancellationToken, readFromClient).ConfigureAwait(false);
    }

    private static async Task WatchForDepartureAsync(Socket socket, CancellationTokenSource gone,
        CancellationToken paired)
    {
        try
        {
            if (await socket.ReceiveAsync(PeekBuffer, SocketFlags.Peek, paired).ConfigureAwait(false) == 0)
            {
                await gone.CancelAsync().ConfigureAwait(false); // end of stream before any pairing
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
            await gone.CancelAsync().ConfigureAwait(false);
        }
    }
}
