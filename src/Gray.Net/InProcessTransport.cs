// A connection that never touches a socket: two in-memory pipes joined crosswise. One end is a Stream
// for a component inside the process (the relay's HTTP forwarder dials through it); the other is a
// Transport that a TcpServer accepts (AcceptAsync), so that session, budgets and splice run exactly as
// for a socket. Each direction holds at most PipeBytes; ending one side's writing is its half-close.
using System.Buffers;
using System.IO.Pipelines;
using System.Net;

namespace Gray.Net;

public sealed class InProcessTransport : Transport
{
    /// <summary>Bytes one direction holds before its writer waits (as a socket's buffer would).</summary>
    public const int PipeBytes = 64 * 1024;

    private readonly PipeStream _stream;

    private InProcessTransport(PipeStream stream, EndPoint remoteEndPoint, EndPoint localEndPoint, object? tag)
    {
        _stream = stream;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = localEndPoint;
        Tag = tag;
    }

    public override Stream Stream => _stream;

    public override EndPoint? RemoteEndPoint { get; }

    public override EndPoint? LocalEndPoint { get; }

    /// <summary>What the dialing side attached (for the accepting session to read).</summary>
    public object? Tag { get; }

    /// <summary>
    /// A connected pair: <c>Near</c>, the dialer's stream, and <c>Far</c>, the transport to accept, whose
    /// remote end point is <paramref name="remoteEndPoint"/> (the client the dialer speaks for).
    /// </summary>
    public static (Stream Near, InProcessTransport Far) Create(EndPoint remoteEndPoint, EndPoint localEndPoint,
        object? tag = null)
    {
        var options = new PipeOptions(pauseWriterThreshold: PipeBytes, resumeWriterThreshold: PipeBytes / 2,
            useSynchronizationContext: false);
        Pipe toFar = new(options), toNear = new(options);
        var near = new PipeStream(toNear.Reader, toFar.Writer);
        var far = new PipeStream(toFar.Reader, toNear.Writer);
        return (near, new InProcessTransport(far, remoteEndPoint, localEndPoint, tag));
    }

    public override ValueTask ShutdownSendAsync(CancellationToken cancellationToken)
    {
        _stream.CompleteWriting();
        return ValueTask.CompletedTask;
    }

    public override void Abort() => _stream.Abort();

    /// <summary>One end: reads its incoming pipe, writes its outgoing one.</summary>
    private sealed class PipeStream(PipeReader reader, PipeWriter writer) : Internal.DuplexStream
    {
        private int _writingDone, _aborted;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer,
            CancellationToken cancellationToken = default)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException) when (Volatile.Read(ref _aborted) != 0)
            {
                throw new IOException("The in-process connection was aborted.");
            }

            var bytes = result.Buffer;
            if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
            // A zero-byte read waits for bytes and takes none (the splice's idle wait).
            int count = (int)Math.Min(bytes.Length, buffer.Length);
            bytes.Slice(0, count).CopyTo(buffer.Span);
            reader.AdvanceTo(bytes.GetPosition(count));
            return count;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer,
            CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref _writingDone) != 0) throw new IOException("The in-process connection is closed.");
            var flushed = await writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (flushed.IsCompleted) throw new IOException("The other end of the in-process connection closed.");
        }

        public void CompleteWriting()
        {
            if (Interlocked.Exchange(ref _writingDone, 1) == 0) writer.Complete();
        }

        // Both directions end: the other end's reads fail, its writes find the pipe completed.
        public void Abort()
        {
            if (Interlocked.Exchange(ref _aborted, 1) != 0) return;
            var error = new IOException("The in-process connection was aborted.");
            if (Interlocked.Exchange(ref _writingDone, 1) == 0) writer.Complete(error);
            reader.Complete(error);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Abort();
            base.Dispose(disposing);
        }
    }
}
