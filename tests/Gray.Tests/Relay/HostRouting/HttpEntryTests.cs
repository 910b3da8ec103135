// The HTTP entry point (http_port) with real web services behind agents: routed by Host, with
// X-Forwarded-*, WebSockets through, clear answers for unknown names and offline agents, and slow
// clients closed by the deadline.
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.HostRouting;

public class HttpEntryTests
{
    [Fact]
    public async Task Requests_reach_the_service_their_host_names_with_forwarded_headers()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpPort = 0, TimeProvider.System);
        await using var app = await WebService.StartAsync("app");
        await using var api = await WebService.StartAsync("api");
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["app.example.org"]), app.EndPoint, mux: true);
        await relay.StartAgentAsync(relay.AddServer("api", hosts: ["*.api.example.org"]), api.EndPoint, pool: 2);
        using var http = new HttpClient();

        string app1 = await GetAsync(http, relay.HttpEntryPort, "app.example.org", "/whoami");
        Assert.StartsWith("app\n", app1);
        Assert.Contains($"host=app.example.org:{relay.HttpEntryPort}\n", app1); // the client's Host, kept
        Assert.Contains("xff=127.0.0.1\n", app1);
        Assert.Contains("xfp=http\n", app1);
        Assert.Contains($"xfh=app.example.org:{relay.HttpEntryPort}\n", app1);
        Assert.StartsWith("api\n", await GetAsync(http, relay.HttpEntryPort, "eu.API.example.org", "/whoami"));
        Assert.StartsWith("app\n", await GetAsync(http, relay.HttpEntryPort, "app.example.org", "/whoami"));

        // A client's own X-Forwarded-For does not pass as the relay's word.
        using var spoofed = Request("app.example.org", relay.HttpEntryPort, "/whoami");
        spoofed.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var answer = await http.SendAsync(spoofed);
        Assert.DoesNotContain("xff=203.0.113.9\n", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unknown_name_gets_404_naming_nothing_and_an_offline_agent_502_with_a_retry_hint()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpPort = 0, TimeProvider.System);
        relay.AddServer("secret-project", hosts: ["offline.example.org"]);
        using var http = new HttpClient();

        using var unknown = await http.SendAsync(Request("nobody.example.org", relay.HttpEntryPort, "/"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.DoesNotContain("secret-project", await unknown.Content.ReadAsStringAsync());

        using var offline = await http.SendAsync(Request("offline.example.org", relay.HttpEntryPort, "/"));
        Assert.Equal(HttpStatusCode.BadGateway, offline.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), offline.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task A_drained_server_answers_503_and_a_denied_address_403()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpPort = 0;
            o.Servers["closed"] = o.DefaultRules with { ClientDeny = ["127.0.0.0/8"] };
        }, TimeProvider.System);
        await using var app = await WebService.StartAsync("app");
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["app.example.org"]), app.EndPoint, mux: true);
        await relay.StartAgentAsync(relay.AddServer("closed", hosts: ["closed.example.org"]), app.EndPoint, mux: true);
        using var http = new HttpClient();

        using var denied = await http.SendAsync(Request("closed.example.org", relay.HttpEntryPort, "/whoami"));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        relay.Context.Drain("app");
        using var drained = await http.SendAsync(Request("app.example.org", relay.HttpEntryPort, "/whoami"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, drained.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), drained.Headers.RetryAfter?.Delta);
        relay.Context.Resume("app");
        Assert.StartsWith("app\n", await GetAsync(http, relay.HttpEntryPort, "app.example.org", "/whoami"));
    }

    [Fact]
    public async Task Basic_authentication_guards_a_server_and_its_host_header_can_be_rewritten()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpPort = 0;
            o.Servers["app"] = o.DefaultRules with
            {
                HttpAuth = new Gray.Relay.HttpCredentials("alice", "pass: word"),
                HostHeader = "internal.lan:8080",
            };
        }, TimeProvider.System);
        await using var app = await WebService.StartAsync("app");
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["app.example.org"]), app.EndPoint, mux: true);
        using var http = new HttpClient();

        using var asked = await http.SendAsync(Request("app.example.org", relay.HttpEntryPort, "/whoami"));
        Assert.Equal(HttpStatusCode.Unauthorized, asked.StatusCode);
        Assert.Equal("Basic", asked.Headers.WwwAuthenticate.Single().Scheme);

        using var right = Request("app.example.org", relay.HttpEntryPort, "/whoami");
        right.Headers.Authorization = new("Basic", Convert.ToBase64String("alice:pass: word"u8.ToArray()));
        using var answer = await http.SendAsync(right);
        string body = await answer.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("host=internal.lan:8080\n", body); // the name the service expects
        Assert.Contains($"xfh=app.example.org:{relay.HttpEntryPort}\n", body); // the one the client asked for
        Assert.Contains("auth=\n", body); // the relay's credentials stay at the relay

        // Wrong passwords back off: a few are free, then the network waits.
        HttpStatusCode last = HttpStatusCode.OK;
        for (int i = 0; i < 8 && last != HttpStatusCode.TooManyRequests; i++)
        {
            using var wrong = Request("app.example.org", relay.HttpEntryPort, "/whoami");
            wrong.Headers.Authorization = new("Basic", Convert.ToBase64String("alice:guess"u8.ToArray()));
            using var refused = await http.SendAsync(wrong);
            last = refused.StatusCode;
            Assert.Contains(last, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests });
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
    }

    [Fact]
    public async Task A_websocket_echo_goes_through_the_http_entry_point()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpPort = 0, TimeProvider.System);
        await using var app = await WebService.StartAsync("app");
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["ws.example.org"]), app.EndPoint, mux: true);

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Host", "ws.example.org");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{relay.HttpEntryPort}/ws"), CancellationToken.None)
            .WaitAsync(Tcp.Deadline);
        byte[] buffer = new byte[1024];
        for (int i = 0; i < 5; i++)
        {
            byte[] message = Encoding.UTF8.GetBytes($"message {i}");
            await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Tcp.Deadline);
            Assert.Equal(message, buffer[..received.Count]);
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None)
            .WaitAsync(Tcp.Deadline);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_headers_is_closed_at_the_deadline()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpPort = 0;
            o.HandshakeTimeout = TimeSpan.FromSeconds(1);
        }, TimeProvider.System);
        using var client = await Tcp.ConnectAsync(relay.HttpEntryPort);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: app.example.org\r\nX-Slow: "u8.ToArray());
        // Kestrel checks its deadlines once a second: a 408, then the close, within a few seconds.
        byte[] answer = await Tcp.ReadToEndAsync(client).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 408", Encoding.ASCII.GetString(answer));
    }

    private static HttpRequestMessage Request(string host, int port, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{path}");
        request.Headers.Host = $"{host}:{port}";
        return request;
    }

    private static async Task<string> GetAsync(HttpClient http, int port, string host, string path)
    {
        using var response = await http.SendAsync(Request(host, port, path)).WaitAsync(Tcp.Deadline);
        Assert.True(HttpStatusCode.OK == response.StatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadAsStringAsync();
    }
}
