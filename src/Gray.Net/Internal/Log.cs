// Source-generated log methods for the library (one place, so event ids stay unique).
using System.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Net.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(2, LogLevel.Information, "Stopped listening on {EndPoint}")]
    public static partial void Stopped(ILogger logger, EndPoint endPoint);

    [LoggerMessage(3, LogLevel.Warning, "Accept failed: out of file descriptors; retrying in {DelayMs} ms")]
    public static partial void AcceptDescriptorsExhausted(ILogger logger, int delayMs);

    [LoggerMessage(4, LogLevel.Warning, "Accept failed; retrying in {DelayMs} ms")]
    public static partial void AcceptFailed(ILogger logger, Exception error, int delayMs);

    [LoggerMessage(5, LogLevel.Information, "Accept recovered after {Failures} failures")]
    public static partial void AcceptRecovered(ILogger logger, int failures);

    [LoggerMessage(6, LogLevel.Debug, "Refused {RemoteEndPoint}: {Reason}")]
    public static partial void Refused(ILogger logger, EndPoint? remoteEndPoint, RefuseReason reason);

    [LoggerMessage(7, LogLevel.Debug, "Connection {ConnectionId} from {RemoteEndPoint} failed its handshake")]
    public static partial void HandshakeFailed(ILogger logger, Exception error, long connectionId,
        EndPoint? remoteEndPoint);

    [LoggerMessage(8, LogLevel.Warning, "Connection {ConnectionId} failed")]
    public static partial void ConnectionFailed(ILogger logger, Exception error, long connectionId);

    [LoggerMessage(9, LogLevel.Warning, "Connection {ConnectionId}: send queue over {Limit} bytes; disconnecting")]
    public static partial void SendQueueOverflow(ILogger logger, long connectionId, int limit);

    [LoggerMessage(10, LogLevel.Error, "A user callback threw")]
    public static partial void CallbackFailed(ILogger logger, Exception error);

    [LoggerMessage(11, LogLevel.Warning, "UDP receive on {EndPoint} failed")]
    public static partial void UdpReceiveFailed(ILogger logger, Exception error, EndPoint? endPoint);

    [LoggerMessage(12, LogLevel.Information, "Reconnecting in {DelayMs} ms after: {Reason}")]
    public static partial void Reconnecting(ILogger logger, int delayMs, string reason);
}
