// TcpConnection's life as its server or client drives it: a socket attached, the stream set up
// under a deadline (the TLS handshake), the session run with its one send loop, and the end, where
// every pooled buffer goes back and OnDisconnected runs once.
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net;

public abstract partial class TcpConnection
{
    /// <summary>Takes ownership of a connected socket and resets per-connection state.</summary>
    internal void Attach(Socket socket)
    {
        Configure(socket, _options);
        Attach(new SocketTransport(socket));
    }

    /// <summary>The options every connection's socket gets: Nagle, keepalive.</summary>
    internal static void Configure(Socket socket, ConnectionOptions options)
    {
        socket.NoDelay = options.NoDelay;
        if (options.KeepAlive is { } keepAlive) EnableKeepAlive(socket, keepAlive);
    }

    /// <summary>Takes ownership of a connected transport and resets per-connection state.</summary>
    internal void Attach(Transport transport)
    {
        _transport = transport;
        _stream = null;
        RemoteEndPoint = transport.RemoteEndPoint;
        LocalEndPoint = transport.LocalEndPoint;
        ConnectedAt = _options.TimeProvider.GetUtcNow();
        _closing = new CancellationTokenSource();
        _sendQueue = new SendQueue(_options.SendQueueLimitBytes);
        Interlocked.Exchange(ref _bytesSent, 0);
        Interlocked.Exchange(ref _bytesReceived, 0);
        Interlocked.Exchange(ref _sendsDropped, 0);
        _established = false;
        _ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _closed, 0);
    }

    /// <summary>
    /// Builds the stream (TLS handshake for TLS) within <paramref name="timeout"/>. Throws on failure.
    /// </summary>
    internal async Task OpenStreamAsync(Func<Stream, CancellationToken, ValueTask<Stream>> createStream,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(timeout, _options.TimeProvider, cancellationToken, _closing.Token);
        try
        {
            _stream = await createStream(Transport.Stream, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
            when (_closing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new IOException("The connection was closed while it was being set up.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The connection was not set up within {timeout.TotalSeconds:0.###} s.");
        }
    }

    /// <summary>Runs the attached connection to its end. Never throws.</summary>
    internal async Task RunAttachedAsync()
    {
        Task sendLoop = SendLoopAsync(Stream, _sendQueue);
        try
        {
            _established = true;
            OnConnected();
            await RunAsync(_closing.Token).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            // A reset, an abort or our own Disconnect() is an ordinary end, not an error.
            if (!SocketErrors.IsConnectionEnd(error)) SafeOnError(error);
        }
        finally
        {
            Disconnect();
            await sendLoop.ConfigureAwait(false);
            try
            {
                await Stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception error) when (SocketErrors.IsConnectionEnd(error))
            {
            }

            try
            {
                OnDisconnected();
            }
            catch (Exception error)
            {
                Log.CallbackFailed(Logger, error);
            }

            _ended.TrySetResult();
        }
    }

    /// <summary>Closes a transport that failed before <see cref="RunAttachedAsync"/> started.</summary>
    internal void Abandon()
    {
        Volatile.Write(ref _closed, 1);
        _sendQueue.Close();
        _transport?.Abort();
        _stream?.Dispose();
        _transport?.Stream.Dispose();
        _ended.TrySetResult();
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }

    private async Task SendLoopAsync(Stream stream, SendQueue queue)
    {
        byte[]? batch = null;
        try
        {
            while (!queue.IsClosed)
            {
                await queue.WaitForDataAsync().ConfigureAwait(false);
                int count;
                while ((count = queue.TakeBatch(ref batch)) > 0)
                {
                    await stream.WriteAsync(batch.AsMemory(0, count), _closing.Token).ConfigureAwait(false);
                    Interlocked.Add(ref _bytesSent, count);
                }

                if (batch is not null)
                {
                    BufferPool.Bytes.Return(batch);
                    batch = null;
                }
            }
        }
        catch (Exception error)
        {
            if (!SocketErrors.IsConnectionEnd(error)) SafeOnError(error);
            Disconnect();
        }
        finally
        {
            if (batch is not null) BufferPool.Bytes.Return(batch);
        }
    }

    private void SafeOnError(Exception error)
    {
        try
        {
            OnError(error);
        }
        catch (Exception callbackError)
        {
            Log.CallbackFailed(Logger, callbackError);
        }
    }

    private static void EnableKeepAlive(Socket socket, TcpKeepAlive keepAlive)
    {
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime,
                Math.Max(1, (int)keepAlive.Idle.TotalSeconds));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval,
                Math.Max(1, (int)keepAlive.Interval.TotalSeconds));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, keepAlive.Probes);
        }
        catch (SocketException)
        {
            // Already reset by the peer: the connection's first read will say so.
        }
    }
}
