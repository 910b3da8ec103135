// An HTTP proxy that tunnels TCP with CONNECT (RFC 9110, 9.3.6): a client dials the proxy, asks for its
// server, and speaks to it through the proxy once the proxy answers 2xx. Any TLS runs inside the tunnel.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gray.Net;

public sealed class HttpConnectProxy
{
    /// <summary>Longest proxy answer read, head only, in bytes.</summary>
    public const int MaxResponseHeadBytes = 8 * 1024;

    private readonly string? _authorization;

    private HttpConnectProxy(DnsEndPoint endPoint, string? authorization)
    {
        EndPoint = endPoint;
        _authorization = authorization;
    }

    /// <summary>Where the proxy listens.</summary>
    public DnsEndPoint EndPoint { get; }

    /// <summary>http://[user:password@]host:port (the port defaults to 80).</summary>
    public static HttpConnectProxy Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "http" || uri.Host.Length == 0
            || uri.AbsolutePath is not ("" or "/"))
        {
            throw new FormatException($"'{url}' is not an HTTP proxy URL (http://[user:password@]host:port)");
        }

        string? authorization = uri.UserInfo.Length == 0 ? null
            : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(uri.UserInfo)));
        return new HttpConnectProxy(new DnsEndPoint(uri.IdnHost, uri.Port), authorization);
    }

    /// <summary>Asks the proxy, over <paramref name="socket"/>, for a tunnel to <paramref name="server"/>; throws
    /// <see cref="IOException"/> with the proxy's status line if it refuses.</summary>
    public async ValueTask TunnelAsync(Socket socket, EndPoint server, CancellationToken cancellationToken)
    {
        string authority = server switch
        {
            DnsEndPoint dns => $"{Bracketed(dns.Host)}:{dns.Port}",
            IPEndPoint ip => ip.ToString(),
            _ => throw new ArgumentException($"cannot tunnel to {server}", nameof(server)),
        };
        var request = new StringBuilder()
            .Append("CONNECT ").Append(authority).Append(" HTTP/1.1\r\nHost: ").Append(authority).Append("\r\n");
        if (_authorization is not null) request.Append("Proxy-Authorization: ").Append(_authorization).Append("\r\n");
        request.Append("\r\n");
        await socket.SendAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);

        string statusLine = await ReadHeadAsync(socket, cancellationToken).ConfigureAwait(false);
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || parts[1].Length != 3 || parts[1][0] != '2')
        {
            throw new IOException($"the proxy {EndPoint.Host}:{EndPoint.Port} refused CONNECT {authority}: " +
                $"{(statusLine.Length > 200 ? statusLine[..200] : statusLine)}");
        }
    }

    // Reads the answer's head a byte at a time: nothing past its blank line may be taken from the tunnel.
    private static async ValueTask<string> ReadHeadAsync(Socket socket, CancellationToken cancellationToken)
    {
        var head = new byte[MaxResponseHeadBytes];
        int length = 0;
        while (length < 4 || !head.AsSpan(length - 4, 4).SequenceEqual("\r\n\r\n"u8))
        {
            if (length == head.Length) throw new IOException("the proxy's answer is too long");
            if (await socket.ReceiveAsync(head.AsMemory(length, 1), cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new IOException("the proxy closed the connection before answering CONNECT");
            }

            length++;
        }

        int lineEnd = head.AsSpan(0, length).IndexOf("\r\n"u8);
        return Encoding.ASCII.GetString(head, 0, lineEnd);
    }

    private static string Bracketed(string host) =>
        IPAddress.TryParse(host, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[{host}]" : host;
}
