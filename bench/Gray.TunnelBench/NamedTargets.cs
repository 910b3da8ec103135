// The services behind the by-name workloads, run as their own process (`--named-targets`): a minimal
// HTTP/1.1 server (keep-alive, a 2-byte body) and a TLS echo with a self-signed certificate, each on
// a free loopback port. Raw sockets and SslStream: the load generator's peers, not the thing measured.
using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gray.TunnelBench;

internal static class NamedTargets
{
    public const string Flag = "--named-targets";

    /// <summary>The name each setup routes: the HTTP Host and the TLS server name.</summary>
    public const string HttpHost = "web.bench.example", TlsHost = "tls.bench.example";

    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    private const int Backlog = 4096;

    /// <summary>Starts the child; its HTTP and TLS ports.</summary>
    public static async Task<(ChildProcess Process, int HttpPort, int TlsPort)> StartAsync()
    {
        var child = ChildProcess.StartSelf("named targets", Flag);
        string line = await child.WaitForLineAsync(
            l => l.StartsWith("listening ", StringComparison.Ordinal), "named targets", TimeSpan.FromSeconds(30));
        string[] ports = line["listening ".Length..].Split(' ');
        return (child, int.Parse(ports[0]), int.Parse(ports[1]));
    }

    public static async Task<int> RunAsync()
    {
        using var http = Listen();
        using var tls = Listen();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={TlsHost}", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1),
            DateTimeOffset.UtcNow.AddDays(7));
        var context = SslStreamCertificateContext.Create(
            X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null), null);
        Console.WriteLine(
            $"listening {((IPEndPoint)http.LocalEndPoint!).Port} {((IPEndPoint)tls.LocalEndPoint!).Port}");
        _ = AcceptAsync(tls, socket => EchoTlsAsync(socket, context));
        await AcceptAsync(http, AnswerHttpAsync);
        return 0;
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(Backlog);
        return listener;
    }

    private static async Task AcceptAsync(Socket listener, Func<Socket, Task> serve)
    {
        while (true)
        {
            var socket = await listener.AcceptAsync();
            socket.NoDelay = true;
            _ = serve(socket);
        }
    }

    // One answer per request head (requests carry no body); until the client closes.
    private static async Task AnswerHttpAsync(Socket socket)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int held = 0;
            while (true)
            {
                int read = await socket.ReceiveAsync(buffer.AsMemory(held), SocketFlags.None);
                if (read == 0) break;
                held += read;
                int end;
                while ((end = buffer.AsSpan(0, held).IndexOf("\r\n\r\n"u8)) >= 0)
                {
                    await socket.SendAsync(Response, SocketFlags.None);
                    buffer.AsSpan(end + 4, held - end - 4).CopyTo(buffer);
                    held -= end + 4;
                }

                if (held == buffer.Length) break; // a head larger than any the workload sends
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            socket.Dispose();
        }
    }

    private static async Task EchoTlsAsync(Socket socket, SslStreamCertificateContext certificate)
    {
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificate,
            });
            byte[] buffer = new byte[16 * 1024];
            int read;
            while ((read = await tls.ReadAsync(buffer)) > 0) await tls.WriteAsync(buffer.AsMemory(0, read));
        }
        catch (Exception error) when (error is IOException or System.Security.Authentication.AuthenticationException)
        {
        }
    }
}
