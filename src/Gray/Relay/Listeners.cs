// The relay's listeners, all Gray.Net servers: each only says which session type it makes.
using System.Net;
using Gray.Net;

namespace Gray.Relay;

internal sealed class ControlListener(RelayContext relay, TlsServerOptions tls)
    : TlsServer(relay.Options.Control, tls, relay.ListenerOptions(maxSessions: 10_000))
{
    protected override TcpSession CreateSession() => new ControlSession(this, relay);
}

internal sealed class ClientListener(GrayServer server, IPEndPoint endPoint, TcpServerOptions options)
    : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new ClientSession(this, server);
}

internal sealed class TlsDataListener(GrayServer server, IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions options)
    : TlsServer(endPoint, tls, options)
{
    protected override TcpSession CreateSession() => new DataSession(this, server);
}

internal sealed class PlainDataListener(GrayServer server, IPEndPoint endPoint, TcpServerOptions options)
    : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new DataSession(this, server);
}
