// Agents that authenticate with an ECDSA P-256 key from the relay's trusted set instead of a secret.
using System.Security.Cryptography;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class TrustedKeyTests
{
    [Fact]
    public async Task A_trusted_key_authenticates_a_wrong_one_is_refused_and_removing_it_drops_the_agent()
    {
        string dir = Directory.CreateTempSubdirectory("gray-keys-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string keyFile = Path.Combine(dir, "agent.key"), strangerFile = Path.Combine(dir, "stranger.key");
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(strangerFile, stranger.ExportPkcs8PrivateKeyPem());
        string trusted = Path.Combine(dir, "trusted_keys");
        await File.WriteAllTextAsync(trusted,
            $"# agents allowed to sign in\nkeyed {Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())}\n");

        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(
            new() { ["trusted_keys"] = $"{{ source: 'file://{trusted}', refresh: 300ms }}" });
        await relay.StartAsync();
        var server = await relay.AddServerAsync("keyed");
        var noSecret = server with { Secret = "unused" };

        var impostor = await relay.StartAgentAsync(
            noSecret, echo.EndPoint, ["--key", strangerFile], waitUntilServing: false);
        Assert.Equal(2, await impostor.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("authentication failed for server id 'keyed'", impostor.Output);

        var agent = await relay.StartAgentAsync(noSecret, echo.EndPoint, ["--key", keyFile]);
        await AgentTests.AssertEchoAsync(server.ClientPort);

        await File.WriteAllTextAsync( // not empty: an empty set would be refused as a broken source
            trusted, $"someone-else {Convert.ToBase64String(stranger.ExportSubjectPublicKeyInfo())}\n");
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("no longer trusted", agent.Output);
        await Wait.UntilAsync(
            async () => await Tcp.IsRefusedAsync(server.ClientPort), "dropped", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_trusted_key_set_can_come_from_an_http_url()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string keyFile = Path.Combine(Directory.CreateTempSubdirectory("gray-keys-http-").FullName, "agent.key");
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        int port = Ports.Free();

        using var keyServer = new System.Net.HttpListener();
        keyServer.Prefixes.Add($"http://127.0.0.1:{port}/");
        keyServer.Start();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var context = await keyServer.GetContextAsync().WaitAsync(stop.Token);
                byte[] body = System.Text.Encoding.UTF8.GetBytes(
                    $"web-keyed {Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())}\n");
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });

        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(
            new() { ["trusted_keys"] = $"{{ source: 'http://127.0.0.1:{port}/keys', allow_http: true }}" });
        await relay.StartAsync();
        var server = await relay.AddServerAsync("web-keyed");
        await relay.StartAgentAsync(server with { Secret = "unused" }, echo.EndPoint, ["--key", keyFile]);
        await AgentTests.AssertEchoAsync(server.ClientPort);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);
    }
}
