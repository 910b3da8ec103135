// The shared ports as users run them: a real `gray relay` with http_port and https_port, servers added
// with `gray admin add --host`, real agents, curl with --resolve for the names, and a 1 GiB download
// through the HTTP entry point with the relay's memory bounded.
using System.Diagnostics;
using System.Net.Security;
using Gray.Net;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.HostRouting;

public class SharedPortsProcessTests
{
    [Fact]
    public async Task Two_services_share_the_http_port_and_two_the_tls_port_each_reached_by_its_name()
    {
        int httpPort = Ports.Free(), httpsPort = Ports.Free();
        await using var relay = new TestRelay(new()
        {
            ["http_port"] = httpPort.ToString(), ["https_port"] = httpsPort.ToString(),
        });
        await relay.StartAsync();
        await using var web = await WebService.StartAsync("web");
        await using var api = await WebService.StartAsync("api");
        await using var one = new TlsEchoService("one.example.org");
        await using var two = new TlsEchoService("two.example.org");
        one.Start();
        two.Start();
        foreach (var (id, host, target) in new[]
                 {
                     ("web", "web.example.org", web.EndPoint), ("api", "api.example.org", api.EndPoint),
                     ("one", "one.example.org", one.EndPoint), ("two", "two.example.org", two.EndPoint),
                 })
        {
            var server = await relay.AddServerAsync(id, "--host", host);
            Assert.Equal(0, server.ClientPort); // reached by name only: no port of its own
            await relay.StartAgentAsync(server, target);
        }

        Assert.StartsWith("web\n", await CurlAsync(httpPort, "web.example.org", "/whoami"));
        Assert.StartsWith("api\n", await CurlAsync(httpPort, "api.example.org", "/whoami"));
        foreach (var (name, service) in new[] { ("one.example.org", one), ("two.example.org", two) })
        {
            using var socket = await Tcp.ConnectAsync(httpsPort);
            await using var tls = new SslStream(new System.Net.Sockets.NetworkStream(socket), false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = name,
                RemoteCertificateValidationCallback =
                    Certificates.PinSha256(Certificates.Sha256Fingerprint(service.Certificate)),
            }).WaitAsync(Tcp.Deadline);
            await tls.WriteAsync("ping"u8.ToArray());
            byte[] pong = new byte[4];
            await tls.ReadExactlyAsync(pong).AsTask().WaitAsync(Tcp.Deadline);
            Assert.Equal("ping"u8.ToArray(), pong);
        }

        // 1 GiB streamed to the client: the relay forwards it without holding it.
        long before = ProcessStats.PeakRss(relay.Process!.Pid);
        string size = await CurlAsync(httpPort, "web.example.org", "/stream?bytes=1073741824",
            "-o", "/dev/null", "-w", "%{size_download}");
        Assert.Equal("1073741824", size);
        long grown = ProcessStats.PeakRss(relay.Process.Pid) - before;
        Assert.True(grown < 96L * 1024 * 1024, $"the relay's peak RSS grew by {grown / 1024 / 1024} MiB");
    }

    private static async Task<string> CurlAsync(int port, string host, string path, params string[] extra)
    {
        var start = new ProcessStartInfo("curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in (string[])["-sS", "--max-time", "120", "--resolve", $"{host}:{port}:127.0.0.1",
                     $"http://{host}:{port}{path}", .. extra])
        {
            start.ArgumentList.Add(arg);
        }

        using var curl = Process.Start(start)!;
        string output = await curl.StandardOutput.ReadToEndAsync();
        string errors = await curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(150));
        Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {errors}");
        return output;
    }
}
