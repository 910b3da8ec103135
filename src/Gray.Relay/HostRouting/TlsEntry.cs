// The TLS entry point (https_port): many servers behind one port, each reached by the server name its
// clients' ClientHello carries. The relay reads the hello (bounded in size and time), picks the server,
// and splices the raw bytes, hello first, with one of its data connections: the service terminates TLS
// with its own certificate, and the relay never sees plaintext (passthrough; decision 0041).
using System.Buffers;
using System.Net;
using Gray.Net;

namespace Gray.Relay.HostRouting;

internal sealed class TlsEntryListener(RelayContext relay, IPEndPoint endPoint, TcpServerOptions options)
    : TcpServer(endPoint, options)
{
    public const string PortKind = "tls_entry";

    protected override TcpSession CreateSession()
    {
        relay.Metrics.Accepted(PortKind);
        return new TlsEntrySession(this, relay);
    }

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason) =>
        relay.Metrics.Refused(PortKind, reason);

    // Until its hello names a server, a connection has proven nothing: it is pending, as an agent's
    // before its proof, and the oldest of one address make room for its new ones.
    protected override void OnSessionAdmitted(TcpSession session, IPEndPoint remoteEndPoint) =>
        relay.Pending.Admit(session, remoteEndPoint.Address);

    protected override void OnSessionEnded(TcpSession session) => relay.Pending.Release(session);
}

internal sealed class TlsEntrySession(TcpServer listener, RelayContext relay) : TcpSession(listener)
{
    // TLS alert descriptions (RFC 8446 §6): the client learns why, and nothing about other names.
    private const byte DecodeError = 50, UnrecognizedName = 112, AccessDenied = 49, InternalError = 80;

    /// <summary>How long a refused client's alert may wait to be written before the close.</summary>
    private static readonly TimeSpan AlertTimeout = TimeSpan.FromSeconds(1);

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var address = (RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Any;
        var (hello, name) = await ReadHelloAsync(cancellationToken).ConfigureAwait(false);
        if (hello is null) return;
        if (name is null || relay.Registry.Hosts.Find(name) is not { } id)
        {
            await RefuseAsync(UnrecognizedName, "unknown name", name is null ? "no server name" : $"'{name}'")
                .ConfigureAwait(false);
            return;
        }

        if (relay.Manager.Find(id) is not { } server)
        {
            await RefuseAsync(InternalError, null, null).ConfigureAwait(false); // its agent is offline
            return;
        }

        if (!RoutedArrival.IsWelcome(relay, server, address))
        {
            relay.Metrics.Refused(TlsEntryListener.PortKind, RefuseReason.Denied);
            await RefuseAsync(AccessDenied, null, null).ConfigureAwait(false);
            return;
        }

        if (!await RoutedArrival.ServeAsync(this, relay, server, address, hello, TlsEntryListener.PortKind,
                cancellationToken).ConfigureAwait(false))
        {
            await RefuseAsync(InternalError, null, null).ConfigureAwait(false); // a budget is full
        }
    }

    // The ClientHello, whole, and the name it asks for; (null, null) when the client is gone or refused.
    private async Task<(byte[]? Hello, string? Name)> ReadHelloAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ClientHello.MaxBytes);
        int length = 0;
        try
        {
            using var deadline = new Deadline(relay.Options.HandshakeTimeout, relay.Time, cancellationToken);
            while (true)
            {
                int read = await Stream.ReadAsync(buffer.AsMemory(length, ClientHello.MaxBytes - length),
                    deadline.Token).ConfigureAwait(false);
                if (read == 0) return (null, null); // gone before its hello: nothing to answer
                length += read;
                switch (ClientHello.TryRead(buffer.AsSpan(0, length), out string? name))
                {
                    case ClientHelloStatus.Complete:
                        return (buffer.AsSpan(0, length).ToArray(), name);
                    case ClientHelloStatus.Invalid:
                    case ClientHelloStatus.NeedMore when length == ClientHello.MaxBytes:
                        await RefuseAsync(DecodeError, "not a tls clienthello", $"{length} bytes")
                            .ConfigureAwait(false);
                        return (null, null);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            relay.PreAuth.Failed("tls entry: no clienthello", RemoteEndPoint,
                $"{length} bytes within {relay.Options.HandshakeTimeout.TotalSeconds:0.#} s");
            return (null, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // A fatal alert, then the connection closes. Failures an outsider causes go to the pre-auth log,
    // which summarizes rather than floods.
    private async Task RefuseAsync(byte description, string? reason, string? detail)
    {
        if (reason is not null) relay.PreAuth.Failed($"tls entry: {reason}", RemoteEndPoint, detail ?? "");
        byte[] alert = [21, 3, 3, 0, 2, 2, description];
        try
        {
            using var written = new CancellationTokenSource(AlertTimeout, relay.Time);
            await Stream.WriteAsync(alert, written.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or OperationCanceledException
            or System.Net.Sockets.SocketException)
        {
            // The client is gone or not reading: closing is all that is left.
        }
    }
}
