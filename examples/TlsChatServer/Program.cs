// TLS chat server: the TCP chat over TLS, with a PEM or PFX certificate, or a self-signed one made at start.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Microsoft.Extensions.Logging;

var cli = new Args(args);
// Debug also shows failed handshakes, e.g. a client that does not speak TLS
var logging = new ConsoleLog(LogLevel.Debug);
using var stop = ConsoleInput.CancelOnCtrlC();

X509Certificate2 certificate =
    cli.Get("pfx") is { } pfx ? Certificates.LoadPfx(pfx, cli.Get("password"))
    // the key may sit in the cert file
    : cli.Get("cert") is { } cert ? Certificates.LoadPem(cert, cli.Get("key") ?? cert)
    : Certificates.CreateSelfSigned("localhost");
string fingerprint = Certificates.Sha256Fingerprint(certificate);

await using var server = new ChatServer(
    cli.EndPoint("127.0.0.1", 2222), new TlsServerOptions { Certificate = certificate },
    new TcpServerOptions { LoggerFactory = logging });
server.Start();
Console.WriteLine($"TLS chat server on {server.EndPoint} with certificate {certificate.Subject}");
Console.WriteLine($"SHA-256 fingerprint: {fingerprint}");
Console.WriteLine($"Pin it: dotnet run --project examples/TlsChatClient -- {server.EndPoint.Address} " +
    $"{server.EndPoint.Port} --fingerprint {fingerprint}");
Console.WriteLine("Type a line to send it to everyone, '!' to restart, an empty line or EOF to stop.");

await Chat.RunServerConsoleAsync(server, stop.Token);

internal sealed class ChatServer(IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions options)
    : TlsServer(endPoint, tls, options)
{
    // TlsServer handshakes, whatever the session type
    protected override TcpSession CreateSession() => new ChatSession(this, "TLS chat");
}
