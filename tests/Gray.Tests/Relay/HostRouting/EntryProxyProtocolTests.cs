// PROXY protocol toward the service for clients that came through the shared ports: the agent's header
// names the real client's address, as for a client port's clients.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.HostRouting;

public class EntryProxyProtocolTests
{
    [Fact]
    public async Task A_client_through_the_tls_entry_point_is_named_in_the_proxy_header()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpsPort = 0, TimeProvider.System);
        using var service = new ProxyLineService(answerHttp: false);
        await relay.StartAgentAsync(relay.AddServer("tls", hosts: ["tls.example.org"]), service.EndPoint, mux: true,
            proxyProtocol: ProxyProtocolVersion.V1);

        using var client = await Tcp.ConnectAsync(relay.TlsEntryPort, from: IPAddress.Parse("127.0.0.9"));
        byte[] hello = await ClientHelloTests.CaptureHelloAsync("tls.example.org");
        await client.SendAsync(hello);
        Assert.Equal(hello, await Tcp.ReadExactlyAsync(client, hello.Length)); // the service got it unchanged
        string line = await service.Line.WaitAsync(Tcp.Deadline);
        Assert.StartsWith($"PROXY TCP4 127.0.0.9 ", line);
        Assert.Contains($" {((IPEndPoint)client.LocalEndPoint!).Port} ", line);
    }

    [Fact]
    public async Task A_client_through_the_http_entry_point_is_named_in_the_proxy_header()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpPort = 0, TimeProvider.System);
        using var service = new ProxyLineService(answerHttp: true);
        await relay.StartAgentAsync(relay.AddServer("web", hosts: ["web.example.org"]), service.EndPoint, mux: true,
            proxyProtocol: ProxyProtocolVersion.V1);

        using var client = await Tcp.ConnectAsync(relay.HttpEntryPort, from: IPAddress.Parse("127.0.0.9"));
        await client.SendAsync("GET / HTTP/1.1\r\nHost: web.example.org\r\nConnection: close\r\n\r\n"u8.ToArray());
        string answer = Encoding.ASCII.GetString(await Tcp.ReadToEndAsync(client));
        Assert.StartsWith("HTTP/1.1 200", answer);
        string line = await service.Line.WaitAsync(Tcp.Deadline);
        Assert.StartsWith($"PROXY TCP4 127.0.0.9 ", line);
        Assert.Contains($" {((IPEndPoint)client.LocalEndPoint!).Port} ", line);
    }

    /// <summary>Reads one PROXY v1 line, then echoes (or answers one HTTP request with 200).</summary>
    private sealed class ProxyLineService : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly TaskCompletionSource<string> _line = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ProxyLineService(bool answerHttp)
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            _ = ServeAsync(answerHttp);
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

        public Task<string> Line => _line.Task;

        private async Task ServeAsync(bool answerHttp)
        {
            using var socket = await _listener.AcceptAsync();
            var head = new StringBuilder();
            byte[] one = new byte[1];
            while (!head.ToString().EndsWith("\r\n", StringComparison.Ordinal) && head.Length < 108)
            {
                if (await socket.ReceiveAsync(one) == 0) return;
                head.Append((char)one[0]);
            }

            _line.TrySetResult(head.ToString().TrimEnd());
            if (answerHttp)
            {
                var request = new StringBuilder();
                while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal)
                       && await socket.ReceiveAsync(one) == 1)
                {
                    request.Append((char)one[0]);
                }

                await socket.SendAsync(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray());
                socket.Shutdown(SocketShutdown.Send);
                return;
            }

            byte[] buffer = new byte[64 * 1024];
            int read;
            while ((read = await socket.ReceiveAsync(buffer)) > 0) await socket.SendAsync(buffer.AsMemory(0, read));
        }

        public void Dispose() => _listener.Dispose();
    }
}
