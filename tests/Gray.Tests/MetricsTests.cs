// /metrics on the relay and the agent: the text parses, and its numbers match the traffic we made.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class MetricsTests
{
    private const int Clients = 5;
    private const int BytesPerClient = 100_000;

    [Fact]
    public async Task Metrics_parse_and_count_the_real_traffic()
    {
        int agentMetrics = Ports.Free();
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(new()
        {
            ["ping_interval"] = "200ms",
            ["client_deny"] = "[127.0.6.6/32]",
        });
        await relay.StartAsync();
        var relayMetrics = relay.Admin;
        var server = await relay.AddServerAsync("metered");
        // Pooled: each client takes an OTP-admitted data connection, which the OTP series count.
        await relay.StartAgentAsync(
            server, echo.EndPoint, ["--pool", "4", "--mux", "false", "--metrics", $"127.0.0.1:{agentMetrics}"]);

        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            using var client = await Tcp.ConnectAsync(server.ClientPort);
            await client.SendAsync(new byte[BytesPerClient]);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(BytesPerClient, (await Tcp.ReadToEndAsync(client)).Length);
        }));
        Assert.True(await Tcp.IsRefusedAtOnceAsync(server.ClientPort, from: IPAddress.Parse("127.0.6.6")));

        const double total = Clients * BytesPerClient;
        var labels = "direction=\"in\",server=\"metered\"";
        Dictionary<string, double> metrics = [];
        await Wait.UntilAsync(async () =>
        {
            metrics = await ScrapeAsync(relayMetrics.Url, relayMetrics.Token);
            return metrics.GetValueOrDefault($"gray_relay_bytes_total{{{labels}}}") == total
                && metrics.GetValueOrDefault("gray_relay_ping_rtt_seconds_count{server=\"metered\"}") >= 1;
        }, "relay metrics show the traffic");
        Assert.Equal(total, metrics["gray_relay_bytes_total{direction=\"out\",server=\"metered\"}"]);
        Assert.Equal(Clients, metrics["gray_relay_pair_setup_duration_seconds_count{server=\"metered\"}"]);
        Assert.True(metrics["gray_relay_connections_accepted_total{port_kind=\"client\"}"] >= Clients);
        Assert.Equal(1, metrics["gray_relay_connections_refused_total{port_kind=\"client\",reason=\"denied\"}"]);
        Assert.True(metrics["gray_relay_otps_total{outcome=\"issued\",server=\"metered\"}"] >= 4 + Clients);
        Assert.True(metrics["gray_relay_otps_total{outcome=\"used\",server=\"metered\"}"] >= Clients);
        Assert.Equal(0, metrics["gray_relay_pairs_active{server=\"metered\"}"]);
        Assert.Equal(4, metrics["gray_relay_pool_target{server=\"metered\"}"]);
        Assert.Contains(metrics.Keys, k => k.StartsWith("dotnet_", StringComparison.Ordinal)); // the runtime's own
        Assert.True(metrics["process_memory_usage_bytes"] > 0); // the process's (OpenTelemetry.Instrumentation.Process)
        Assert.Equal(1, metrics["gray_relay_agent_connected{server=\"metered\"}"]);
        // Buckets that fit what each histogram measures: set-ups up to a client's long wait, round trips
        // from a tenth of a millisecond.
        Assert.Contains("gray_relay_pair_setup_duration_seconds_bucket{server=\"metered\",le=\"30\"}", metrics.Keys);
        Assert.DoesNotContain("gray_relay_pair_setup_duration_seconds_bucket{server=\"metered\",le=\"0.0001\"}",
            metrics.Keys);
        Assert.Contains("gray_relay_ping_rtt_seconds_bucket{server=\"metered\",le=\"0.0001\"}", metrics.Keys);

        // A server whose agent is away keeps its series, at 0, so that "agent down" can be alerted on.
        await relay.AddServerAsync("away");
        await Wait.UntilAsync(async () => (await ScrapeAsync(relayMetrics.Url, relayMetrics.Token))
            .GetValueOrDefault("gray_relay_agent_connected{server=\"away\"}", -1) == 0, "the away server at 0");

        var agent = await ScrapeAsync($"http://127.0.0.1:{agentMetrics}");
        Assert.Equal(total, agent["gray_agent_bytes_total{direction=\"in\"}"]);
        Assert.Equal(total, agent["gray_agent_bytes_total{direction=\"out\"}"]);
        Assert.Equal(0, agent["gray_agent_pairs_active"]);
    }

    /// <summary>GETs /metrics (with a bearer token, if given) and parses every sample line (and checks each
    /// metric was typed first).</summary>
    internal static async Task<Dictionary<string, double>> ScrapeAsync(string url, string? token = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        string text = await http.GetStringAsync($"{url}/metrics");
        var samples = new Dictionary<string, double>();
        var typed = new HashSet<string>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                typed.Add(line.Split(' ')[2]);
                continue;
            }

            if (line.StartsWith('#')) continue;
            var match = Regex.Match(
                line, @"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\]|\\.)*"",?)*\})? (\S+)$");
            Assert.True(match.Success, $"unparsable line: {line}");
            string name = match.Groups[1].Value;
            Assert.Contains(typed, t => name == t || name.StartsWith(t + "_", StringComparison.Ordinal));
            string labels = match.Groups[2].Value is "{}" ? "" : match.Groups[2].Value; // no labels, either way
            samples[name + labels] = double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
        }

        return samples;
    }

}
