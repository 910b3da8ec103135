// TLS chat server: the TCP chat over TLS, with a PEM or PFX certificate, or a self-signed one made at start.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Gray.Net;
using Microsoft.Extensions.Logging;

var cli = new Args(args);
var logging = new ConsoleLog(LogLevel.Debug); // Debug also shows failed handshakes, e.g. a client that does not speak TLS
using var stop = ConsoleInput.CancelOnCtrlC();

X509Certificate2 certificate =
    cli.Get("pfx") is { } pfx ? Certificates.LoadPfx(pfx, cli.Get("password"))
    : cli.Get("cert") is { } cert ? Certificates.LoadPem(cert, cli.Get("key") ?? cert) // the key may sit in the cert file
    : Certificates.CreateSelfSigned("localhost");
string fingerprint = Certificates.Sha256Fingerprint(certificate);

await using var server = new ChatServer(cli.EndPoint("127.0.0.1", 2222), new TlsServerOptions { Certificate = certificate },
    new TcpServerOptions { LoggerFactory = logging });
server.Start();
Console.WriteLine($"TLS chat server on {server.EndPoint} with certificate {certificate.Subject}");
Console.WriteLine($"SHA-256 fingerprint: {fingerprint}");
Console.WriteLine($"Pin it: dotnet run --project examples/TlsChatClient -- {server.EndPoint.Address} {server.EndPoint.Port} --fingerprint {fingerprint}");
Console.WriteLine("Type a line to send it to everyone, '!' to restart, an empty line or EOF to stop.");

while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 } line)
{
    if (line == "!")
    {
        Console.WriteLine("Server restarting...");
        await server.RestartAsync();
        Console.WriteLine("Server restarted");
        continue;
    }

    server.Multicast(Encoding.UTF8.GetBytes($"(admin) {line}\n"));
}

Console.WriteLine("Server stopping...");

internal sealed class ChatServer(IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions options)
    : TlsServer(endPoint, tls, options)
{
    protected override TcpSession CreateSession() => new ChatSession(this);
}

internal sealed class ChatSession(TlsServer server) : TlsSession(server)
{
    private readonly MemoryStream _partialLine = new();

    protected override void OnConnected()
    {
        Console.WriteLine($"#{Id} connected from {RemoteEndPoint} ({SslStream.SslProtocol}, {SslStream.NegotiatedCipherSuite})");
        Send(Encoding.UTF8.GetBytes($"Hello from TLS chat, you are #{Id}! Please send a message or '!' to disconnect.\n"));
    }

    protected override void OnReceived(ReadOnlySpan<byte> data)
    {
        // TLS carries a byte stream too: cut it into lines, keeping an unfinished one for the next chunk.
        for (int newline; (newline = data.IndexOf((byte)'\n')) >= 0; data = data[(newline + 1)..])
        {
            _partialLine.Write(data[..newline]);
            string text = Encoding.UTF8.GetString(_partialLine.GetBuffer(), 0, (int)_partialLine.Length).TrimEnd('\r');
            _partialLine.SetLength(0);
            Console.WriteLine($"#{Id}: {text}");
            Server.Multicast(Encoding.UTF8.GetBytes($"#{Id}: {text}\n"));
        }

        _partialLine.Write(data);
        if (_partialLine.Length > 64 * 1024) Disconnect(); // a line this long is abuse, not chat
    }

    protected override void OnDisconnected() => Console.WriteLine($"#{Id} disconnected");
}
