// TLS chat client: the TCP chat client over TLS, pinning the server's certificate by its SHA-256 fingerprint.
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();

var tls = new TlsClientOptions { TargetHost = cli.Get("host", -1, "localhost") };
if (cli.Get("fingerprint") is { } fingerprint)
{
    tls.ServerCertificateValidation = Certificates.PinSha256(fingerprint);
}
else
{
    Console.WriteLine(
        "WARNING: no --fingerprint given, so ANY server certificate is accepted. Fine for this example only.");
    tls.ServerCertificateValidation = (_, _, _, _) => true;
}

var client = new ChatClient(
    cli.EndPoint("127.0.0.1", 2222), tls, new TcpClientOptions { LoggerFactory = new ConsoleLog() });
return await Chat.RunClientConsoleAsync(client, stop);
