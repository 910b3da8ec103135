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

    protected override void OnSessionAdmitted(TcpSession session, IPEndPoint remoteEndPoint) =>
        relay.Pending.Admit(session, remoteEndPoint.Address);

    protected override void OnHandshakeFailed(EndPoint? remoteEndPoint, Exception error) =>
        relay.PreAuth.Failed("control: tls handshake", remoteEndPoint, error.Message);

    protected override void OnSessionEnded(TcpSession session) => relay.Pending.Release(session);
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

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason)
    {
        server.Relay.Metrics.Refused("client", reason);
        server.Relay.Events.Publish(Events.RelayEventTypes.Refused, server.Id,
            (remoteEndPoint as IPEndPoint)?.Address, reason: RelayMetrics.ReasonName(reason));
    }

    // Last the clients' share of the relay, given back when the session ends.
    protected override RefuseReason? CheckAdmission(IPEndPoint remoteEndPoint) =>
        !server.ClientRules.IsAllowed(remoteEndPoint.Address) ? RefuseReason.Denied
        : server.Relay.IsDraining(server.Id) ? RefuseReason.Paused
        : !server.Relay.Clients.TryAcquire() ? RefuseReason.GlobalLimit
        : null;

    protected override void OnSessionEnded(TcpSession session) => server.Relay.Clients.Release();

    protected override void OnAdmissionCanceled(IPEndPoint remoteEndPoint) => server.Relay.Clients.Release();
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

    protected override ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        tls is null
            ? base.CreateStreamAsync(transport, cancellationToken)
            : TlsServer.AuthenticateAsync(transport, tls, _certificate, cancellationToken);

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason) =>
        server.Relay.Metrics.Refused("data", reason);

    protected override void OnSessionAdmitted(TcpSession session, IPEndPoint remoteEndPoint) =>
        server.Relay.Pending.Admit(session, remoteEndPoint.Address);

    protected override void OnHandshakeFailed(EndPoint? remoteEndPoint, Exception error) =>
        server.Relay.PreAuth.Failed("data connection: tls handshake", remoteEndPoint, error.Message);

    protected override void OnSessionEnded(TcpSession session) => server.Relay.Pending.Release(session);
}
