// The server side of one accepted connection.
namespace Gray.Net;

public class TcpSession : TcpConnection
{
    public TcpSession(TcpServer server)
        : base(server.Options)
    {
        Server = server;
    }

    public TcpServer Server { get; }

    /// <summary>Completes when the session has ended and released everything.</summary>
    public Task Completion { get; internal set; } = Task.CompletedTask;

    public SessionInfo ToInfo() =>
        new(Id, RemoteEndPoint, ConnectedAt, BytesReceived, BytesSent, PendingSendBytes);
}

/// <summary>A snapshot of one live session, for listings.</summary>
public sealed record SessionInfo(
    long Id,
    System.Net.EndPoint? RemoteEndPoint,
    DateTimeOffset ConnectedAt,
    long BytesReceived,
    long BytesSent,
    int PendingSendBytes);
