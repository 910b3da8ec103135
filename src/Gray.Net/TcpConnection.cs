// One TCP (or TLS) connection, server side or client side: lifecycle callbacks, a bounded send
// queue drained by one send loop, and a receive loop that holds no buffer while idle.
using System.Net;
using System.Runtime.CompilerServices;
using System.Net.Sockets;
using Gray.Net.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gray.Net;

/// <summary>
/// A connected byte stream. Use it in one of two ways:
/// <list type="bullet">
/// <item>events: override <see cref="OnReceived"/> and call <see cref="Send"/> (CppServer style);</item>
/// <item>pull: override <see cref="RunAsync"/> and use <see cref="ReceiveAsync"/> with
/// <see cref="SendAsync"/>, which waits for queue space, so memory stays bounded.</item>
/// </list>
/// The connection closes when <see cref="RunAsync"/> returns.
/// </summary>
public abstract partial class TcpConnection
{
    private static long s_lastId;

    private readonly ConnectionOptions _options;
    private Transport? _transport;
    private Stream? _stream;
    private SendQueue _sendQueue;
    private CancellationTokenSource _closing = new();
    private int _closed = 1;
    private volatile bool _established;
    private TaskCompletionSource _ended = CompletedSource();
    private long _bytesSent;
    private long _bytesReceived;
    private long _sendsDropped;

    protected TcpConnection(ConnectionOptions options)
    {
        _options = options;
        _sendQueue = new SendQueue(options.SendQueueLimitBytes);
        _sendQueue.Close();
        Logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger(GetType());
    }

    /// <summary>Unique in this process.</summary>
    public long Id { get; } = Interlocked.Increment(ref s_lastId);

    public EndPoint? RemoteEndPoint { get; private set; }

    public EndPoint? LocalEndPoint { get; private set; }

    public DateTimeOffset ConnectedAt { get; private set; }

    /// <summary>True from the end of the handshake (just before OnConnected) until the connection closes.</summary>
    public bool IsConnected => _established && Volatile.Read(ref _closed) == 0;

    /// <summary>Completes when the current connection has ended and released everything.</summary>
    internal Task Ended => _ended.Task;

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Messages dropped by <see cref="SendOverflowPolicy.Drop"/>.</summary>
    public long SendsDropped => Interlocked.Read(ref _sendsDropped);

    /// <summary>Bytes queued and not yet handed to the socket.</summary>
    public int PendingSendBytes => _sendQueue.PendingBytes;

    public int SendQueueLimitBytes => _sendQueue.Limit;

    /// <summary>The underlying socket (for socket options; do not read or write it directly).</summary>
    public Socket Socket => (_transport as SocketTransport)?.Socket
        ?? throw new InvalidOperationException("The connection is not open, or not over a socket of its own.");

    /// <summary>What carries the bytes: a socket of its own, or another transport (a WebSocket).</summary>
    public Transport Transport => _transport ?? throw new InvalidOperationException("The connection is not open.");

    /// <summary>
    /// The stream (the transport's, or an SslStream over it). For a pump that owns the connection: reading is
    /// fine from <see cref="RunAsync"/>; a caller who writes here must not also use Send.
    /// </summary>
    public Stream Stream => _stream ?? throw new InvalidOperationException("The connection is not open.");

    /// <summary>Cancelled when the connection closes.</summary>
    public CancellationToken ConnectionClosed => _closing.Token;

    protected ILogger Logger { get; }

    /// <summary>Queues a copy of <paramref name="data"/>; never waits. See <see cref="SendOverflowPolicy"/>.</summary>
    public SendResult Send(ReadOnlySpan<byte> data)
    {
        switch (_sendQueue.TryEnqueue(data))
        {
            case EnqueueResult.Queued:
                return SendResult.Queued;
            case EnqueueResult.Closed:
                return SendResult.Closed;
        }

        if (_options.SendOverflow == SendOverflowPolicy.Drop)
        {
            Interlocked.Increment(ref _sendsDropped);
            return SendResult.Dropped;
        }

        Log.SendQueueOverflow(Logger, Id, _sendQueue.Limit);
        Disconnect();
        return SendResult.Closed;
    }

    /// <summary>Queues a copy of <paramref name="data"/>, waiting while the queue is full. False if closed.</summary>
    public ValueTask<bool> SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _sendQueue.EnqueueAsync(data, cancellationToken);

    /// <summary>Waits until every queued byte reached the socket. False if the connection closed first.</summary>
    public ValueTask<bool> FlushAsync(CancellationToken cancellationToken = default) =>
        _sendQueue.FlushAsync(cancellationToken);

    /// <summary>Pull-style read; 0 means the peer finished sending. Only from <see cref="RunAsync"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read = await Stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _bytesReceived, read);
        return read;
    }

    /// <summary>
    /// Half-close: sends what is queued, then FIN. Receiving goes on. Over TLS no close_notify goes
    /// before the FIN: SslStream's shutdown reads the TLS session from this thread while the receive
    /// side may be reading it from another, which loses or garbles records (decision 0032).
    /// </summary>
    public async ValueTask ShutdownSendAsync(CancellationToken cancellationToken = default)
    {
        if (!await FlushAsync(cancellationToken).ConfigureAwait(false)) return;
        _sendQueue.Close();
        if (_transport is { } transport) await transport.ShutdownSendAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection now, dropping anything queued. Idempotent.</summary>
    public void Disconnect() => TryDisconnect();

    /// <summary>Disconnects; false if the connection was already closed.</summary>
    internal bool TryDisconnect()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return false;
        _sendQueue.Close();
        try
        {
            _closing.Cancel();
        }
        catch (AggregateException error)
        {
            Log.CallbackFailed(Logger, error);
        }

        _transport?.Abort();
        return true;
    }

    /// <summary>Called once the connection (and its TLS handshake) is up, before any data callback.</summary>
    protected virtual void OnConnected()
    {
    }

    /// <summary>Called from the default <see cref="RunAsync"/> for each chunk received.</summary>
    protected virtual void OnReceived(ReadOnlySpan<byte> data)
    {
    }

    /// <summary>
    /// Called from the default <see cref="RunAsync"/> when the peer half-closes. By default: flush, then close.
    /// </summary>
    protected virtual async Task OnReceiveCompletedAsync(CancellationToken cancellationToken) =>
        await FlushAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Called once, after the connection closed and its buffers went back to the pool.</summary>
    protected virtual void OnDisconnected()
    {
    }

    /// <summary>Called for a fault that is more than an ordinary reset or close.</summary>
    protected virtual void OnError(Exception error) => Log.ConnectionFailed(Logger, error, Id);

    /// <summary>The connection's life; it closes when this returns. By default: the receive loop.</summary>
    protected virtual async Task RunAsync(CancellationToken cancellationToken)
    {
        Stream stream = Stream;
        int bufferSize = _options.ReceiveBufferBytes;
        bool waitForData = _options.WaitForDataBeforeAllocatingBuffer;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                if (buffer is null && waitForData)
                {
                    await stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                }

                buffer ??= BufferPool.Bytes.Rent(bufferSize);
                int read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0) break;

                Interlocked.Add(ref _bytesReceived, read);
                OnReceived(buffer.AsSpan(0, read));

                // A short read means the socket is drained: give the buffer back while we wait.
                if (waitForData && read < buffer.Length)
                {
                    BufferPool.Bytes.Return(buffer);
                    buffer = null;
                }
            }
        }
        finally
        {
            if (buffer is not null) BufferPool.Bytes.Return(buffer);
        }

        await OnReceiveCompletedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The clock of this connection's deadlines and idle timeouts.</summary>
    internal TimeProvider Time => _options.TimeProvider;

    internal void CountReceived(int bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    internal void CountSent(int bytes) => Interlocked.Add(ref _bytesSent, bytes);
}
