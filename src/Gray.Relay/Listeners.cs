// The relay's listeners, all Gray.Net servers: each only says which session type it makes.
using System.Net;
using Gray.Net;

namespace Gray.Relay;

internal sealed class ControlListener(RelayContext relay, TlsServerOptions tls)
    : TlsServer(relay.Options.Control, tls, relay.ListenerOptions(maxSessions: 10_000))
{
    protected override TcpSession CreateSession()
    {
        relay.Metrics.Accepted("control");
        return new ControlSession(this, relay);
    }

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason) =>
        relay.Metrics.Refused("control", reason);

    protected override RefuseReason? CheckAdmission(IPEndPoint remoteEndPoint) => relay.AdmitPending(remoteEndPoint);

    protected override void OnSessionEnded(TcpSession session) => ((IPendingSession)session).ReleasePending();
}

/// <summary>A session that counts as pending (unauthenticated) until it proves itself or ends.</summary>
internal interface IPendingSession
{
    /// <summary>Gives back its place among its address's pending connections; idempotent.</summary>
    void ReleasePending();
}

/// <summary>The public port: allow/deny rules and drain mode decide who gets in.</summary>
internal sealed class ClientListener(RelayTunnel server, IPEndPoint endPoint, TcpServerOptions options)
    : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession()
    {
        server.Relay.Metrics.Accepted("client");
        return new ClientSession(this, server);
    }

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason) =>
        server.Relay.Metrics.Refused("client", reason);

    protected override RefuseReason? CheckAdmission(IPEndPoint remoteEndPoint) =>
        !server.ClientRules.IsAllowed(remoteEndPoint.Address) ? RefuseReason.Denied
        : server.Relay.IsDraining(server.Id) ? RefuseReason.Paused
        : null;
}

/// <summary>A server's data port: TLS with the relay's certificate, or plain TCP when the agent asked for it.</summary>
internal sealed class DataListener(RelayTunnel server, IPEndPoint endPoint, TlsServerOptions? tls,
    TcpServerOptions options)
    : TcpServer(endPoint, options)
{
    // Made once: the certificate this data port presents for its whole life (see ConfigReloader).
    private readonly System.Net.Security.SslStreamCertificateContext? _certificate =
        tls is null ? null : System.Net.Security.SslStreamCertificateContext.Create(tls.Certificate, null);

    protected override TcpSession CreateSession()
    {
        server.Relay.Metrics.Accepted("data");
        return new DataSession(this, server);
    }

    protected override ValueTask<Stream> CreateStreamAsync(System.Net.Sockets.Socket socket,
        CancellationToken cancellationToken) =>
        tls is null
            ? base.CreateStreamAsync(socket, cancellationToken)
            : TlsServer.AuthenticateAsync(socket, tls, _certificate, cancellationToken);

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason) =>
        server.Relay.Metrics.Refused("data", reason);

    protected override RefuseReason? CheckAdmission(IPEndPoint remoteEndPoint) =>
        server.Relay.AdmitPending(remoteEndPoint);

    protected override void OnSessionEnded(TcpSession session) => ((IPendingSession)session).ReleasePending();
}
