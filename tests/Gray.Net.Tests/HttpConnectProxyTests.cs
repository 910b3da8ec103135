// HttpConnectProxy against a proxy scripted on a real loopback socket: the CONNECT request it sends, a
// refusal reported with the proxy's status line, and not a byte of the tunnel taken with the answer.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gray.Net.Tests;

public class HttpConnectProxyTests
{
    [Fact]
    public async Task It_asks_for_the_server_with_credentials_and_leaves_the_tunnels_first_bytes_unread()
    {
        var (proxy, client, accepted) = await ConnectedAsync("user:p%40ss@");
        using var _ = client;
        using var __ = accepted;

        var tunnel = proxy.TunnelAsync(client, new DnsEndPoint("relay.example.org", 44555), CancellationToken.None);
        string request = await ReadHeadAsync(accepted);
        Assert.StartsWith("CONNECT relay.example.org:44555 HTTP/1.1\r\nHost: relay.example.org:44555\r\n", request);
        Assert.Contains("Proxy-Authorization: Basic " + Convert.ToBase64String("user:p@ss"u8.ToArray()), request);
        // The answer and the server's first bytes arrive together: only the answer may be consumed.
        await accepted.SendAsync("HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\nTLS"u8.ToArray());
        await tunnel.AsTask().WaitAsync(Loopback.Deadline);
        var rest = new byte[3];
        Assert.Equal(3, await client.ReceiveAsync(rest));
        Assert.Equal("TLS"u8.ToArray(), rest);
    }

    [Theory]
    [InlineData("HTTP/1.1 403 Forbidden\r\n\r\n", "403 Forbidden")]
    [InlineData("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "407 Proxy Authentication Required")]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n", "SSH-2.0-OpenSSH")]
    public async Task A_refusal_or_nonsense_is_an_error_that_quotes_the_status_line(string answer, string quoted)
    {
        var (proxy, client, accepted) = await ConnectedAsync("");
        using var _ = client;
        using var __ = accepted;
        var tunnel = proxy.TunnelAsync(client, new IPEndPoint(IPAddress.Loopback, 44555), CancellationToken.None);
        await ReadHeadAsync(accepted);
        await accepted.SendAsync(Encoding.ASCII.GetBytes(answer));
        var error = await Assert.ThrowsAsync<IOException>(() => tunnel.AsTask().WaitAsync(Loopback.Deadline));
        Assert.Contains(quoted, error.Message);
    }

    [Fact]
    public async Task An_endless_answer_is_cut_at_its_limit()
    {
        var (proxy, client, accepted) = await ConnectedAsync("");
        using var _ = client;
        using var __ = accepted;
        var tunnel = proxy.TunnelAsync(client, new IPEndPoint(IPAddress.Loopback, 44555), CancellationToken.None);
        await ReadHeadAsync(accepted);
        await accepted.SendAsync(new byte[HttpConnectProxy.MaxResponseHeadBytes + 1]);
        var error = await Assert.ThrowsAsync<IOException>(() => tunnel.AsTask().WaitAsync(Loopback.Deadline));
        Assert.Contains("too long", error.Message);
    }

    [Theory]
    [InlineData("https://proxy:443")]
    [InlineData("proxy:3128")]
    [InlineData("http://proxy:3128/path")]
    public void Only_plain_http_proxy_urls_are_accepted(string url) =>
        Assert.Throws<FormatException>(() => HttpConnectProxy.Parse(url));

    /// <summary>A proxy object for a listener on loopback, a client connected to it, and the accepted side.</summary>
    private static async Task<(HttpConnectProxy Proxy, Socket Client, Socket Accepted)> ConnectedAsync(
        string userInfo)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(Loopback.AnyPort);
        listener.Listen();
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var proxy = HttpConnectProxy.Parse($"http://{userInfo}127.0.0.1:{endPoint.Port}");
        var client = await Loopback.ConnectAsync(endPoint);
        return (proxy, client, await listener.AcceptAsync());
    }

    private static async Task<string> ReadHeadAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[1024];
        using var deadline = new CancellationTokenSource(Loopback.Deadline);
        while (!Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            if (read == 0) break;
            received.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
