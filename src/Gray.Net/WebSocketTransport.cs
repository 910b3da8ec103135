// A WebSocket as a byte stream: each write one binary message, reads across message boundaries. Half-close
// is the close frame: after sending it a side still receives until its peer sends its own (RFC 6455, 7.1).
// WebSocket errors surface as IOException, so that the splice and the sessions treat them as a socket's.
using System.Net;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace Gray.Net;

public sealed class WebSocketTransport(WebSocket webSocket, EndPoint? remoteEndPoint, EndPoint? localEndPoint)
    : Transport
{
    private readonly ByteStream _stream = new(webSocket);
    private int _aborted;

    public override Stream Stream => _stream;

    public override EndPoint? RemoteEndPoint => remoteEndPoint;

    public override EndPoint? LocalEndPoint => localEndPoint;

    public override async ValueTask ShutdownSendAsync(CancellationToken cancellationToken)
    {
        if (webSocket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        try
        {
            await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception error) when (error is WebSocketException or ObjectDisposedException or IOException)
        {
            // Already aborted or closed: the reads will say so. When the peer's close frame came first,
            // the close waits for the connection to end, and the receive side may end it first (the
            // stream under the WebSocket is then disposed): the half-close has nothing left to do.
        }
    }

    /// <summary>
    /// Ends the WebSocket and closes the stream under it. What was already written still goes out: a web
    /// server's connection ends gracefully once its request ends (an HTTP-level abort would drop the
    /// last frames, where a socket's close still sends them).
    /// </summary>
    public override void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0) return;
        webSocket.Abort();
    }

    private sealed class ByteStream(WebSocket webSocket) : Internal.DuplexStream
    {
        private bool _closeReceived;

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no allocation per read
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer,
            CancellationToken cancellationToken = default)
        {
            // Empty data messages are skipped; a zero-byte read returns once a frame is there.
            while (!_closeReceived)
            {
                ValueWebSocketReceiveResult result;
                try
                {
                    result = await webSocket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                }
                catch (WebSocketException error)
                {
                    throw new IOException($"The WebSocket failed: {error.Message}", error);
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closeReceived = true;
                    break;
                }

                if (result.Count > 0 || buffer.IsEmpty) return result.Count;
            }

            return 0;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer,
            CancellationToken cancellationToken = default)
        {
            try
            {
                await webSocket.SendAsync(buffer, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (WebSocketException error)
            {
                throw new IOException($"The WebSocket failed: {error.Message}", error);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) webSocket.Dispose();
            base.Dispose(disposing);
        }
    }
}
