// OTLP export: the relay pushes its meters to a collector (here a minimal OTLP/HTTP receiver).
using System.Net;
using System.Text;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class OtlpTests
{
    [Fact]
    public async Task The_relay_pushes_its_metrics_over_OTLP_HTTP()
    {
        int port = Ports.Free();

        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        await using var relay = new TestRelay(
            new() { ["otlp"] = $"{{ endpoint: 'http://127.0.0.1:{port}', interval: 500ms }}" });
        await relay.StartAsync();
        using var control = await Tcp.ConnectAsync(relay.ControlPort); // counted as an accepted control connection

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<string>();
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await collector.GetContextAsync().WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no OTLP push with the relay's meters; got {seen.Count} pushes: " +
                    $"{string.Join("; ", seen.Take(3))}\n{relay.Process!.Output}");
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body, deadline.Token);
            context.Response.StatusCode = 200;
            context.Response.Close();
            string payload = Encoding.UTF8.GetString(body.ToArray()); // protobuf keeps names as UTF-8
            seen.Add($"{context.Request.HttpMethod} {context.Request.Url!.AbsolutePath} {body.Length} bytes, gray: " +
                $"{payload.Contains("gray.relay")}");
            Assert.Equal("/v1/metrics", context.Request.Url!.AbsolutePath);
            Assert.Equal("POST", context.Request.HttpMethod);
            if (payload.Contains("gray.relay.connections.accepted") && payload.Contains("dotnet.")) break;
        }
    }
}
