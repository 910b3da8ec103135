// Hot reload of the relay's configuration: on SIGHUP and when the file changes; bad files refused.
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Net;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ReloadTests
{
    [Fact]
    public async Task A_reload_changes_limits_allow_lists_and_ping_timeout_while_a_16_MiB_transfer_runs()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(new() { ["max_connections"] = "900", ["ping_timeout"] = "30s" });
        await relay.StartAsync();
        var server = await relay.AddServerAsync("reloaded");
        await relay.StartAgentAsync(server, echo.EndPoint);

        // A transfer that spans the reload: 16 MiB in 64 chunks with pauses.
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        byte[] payload = RandomNumberGenerator.GetBytes(16 * 1024 * 1024);
        var echoed = Tcp.ReadToEndAsync(client);
        var sending = Task.Run(async () =>
        {
            for (int offset = 0; offset < payload.Length; offset += payload.Length / 64)
            {
                await client.SendAsync(payload.AsMemory(offset, payload.Length / 64));
                await Task.Delay(20); // spread over about a second and a half, across the reload
            }

            client.Shutdown(SocketShutdown.Send);
        });

        await File.WriteAllTextAsync(
            relay.ConfigPath, "max_connections: 500\nping_timeout: 45s\nclient_deny: [127.0.9.0/24]\n" +
            "bandwidth: { out: 64MB }\n"); // the running transfer is then limited too, and goes on
        relay.Process!.Signal(1); // SIGHUP
        string reloaded = await relay.Process.WaitForLineAsync(l => l.Contains("Configuration reloaded"), "reloaded");
        Assert.Contains("max_connections 900 → 500", reloaded);
        Assert.Contains("ping_timeout 00:00:30 → 00:00:45", reloaded);
        Assert.Contains("server rules", reloaded);

        var (_, shown) = await relay.AdminAsync("show");
        Assert.Contains("/500", shown);
        Assert.Contains("bandwidth=[in none, out 64 MB/s, per client in none, per client out none]", shown);
        Assert.True(await Tcp.IsRefusedAtOnceAsync(server.ClientPort, from: IPAddress.Parse("127.0.9.9")));
        await AgentTests.AssertEchoAsync(server.ClientPort);

        await sending;
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(await echoed)); // unaffected by the reload
    }

    [Fact]
    public async Task A_changed_file_is_picked_up_and_an_invalid_one_is_refused_keeping_the_old_settings()
    {
        await using var relay = new TestRelay(new() { ["max_connections"] = "900" });
        await relay.StartAsync();
        await File.WriteAllTextAsync(relay.ConfigPath, "max_connections: 700\n");
        await relay.Process!.WaitForLineAsync(
            l => l.Contains("max_connections 900 → 700"), "reloaded on file change");

        await File.WriteAllTextAsync(relay.ConfigPath, "max_connections: [not, a, number\n");
        await relay.Process.WaitForLineAsync(l => l.Contains("reload (the file changed) refused"), "bad file refused");
        var (_, shown) = await relay.AdminAsync("show");
        Assert.Contains("/700", shown);
        Assert.False(relay.Process.HasExited);
    }

    [Fact]
    public async Task A_secret_file_that_became_a_directory_is_refused_on_reload_and_the_relay_lives_on()
    {
        string dir = Directory.CreateTempSubdirectory("gray-secret-dir-").FullName;
        string secretFile = Path.Combine(dir, "backup.secret");
        await File.WriteAllTextAsync(secretFile, Gray.Protocol.Auth.NewSecret() + "\n");
        await using var relay =
            new TestRelay(new() { ["servers"] = $"{{ backup: {{ secret_file: '{secretFile}' }} }}" });
        await relay.StartAsync();

        File.Delete(secretFile);
        Directory.CreateDirectory(secretFile);
        relay.Process!.Signal(1); // SIGHUP
        await relay.Process.WaitForLineAsync(l => l.Contains("reload (SIGHUP) refused") && l.Contains("directory"),
            "reload refused");
        var (exitCode, shown) = await relay.AdminAsync("show");
        Assert.Equal(0, exitCode);
        Assert.Contains("backup", shown);
        Assert.False(relay.Process.HasExited);
    }

    [Fact]
    public async Task A_rotated_certificate_is_used_for_new_handshakes()
    {
        string dir = Directory.CreateTempSubdirectory("gray-rotate-").FullName;
        string cert = Path.Combine(dir, "relay.crt"), key = Path.Combine(dir, "relay.key");
        using (var first = Certificates.CreateSelfSigned("relay")) WritePem(first, cert, key);
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(new() { ["tls"] = $"{{ certificate: {cert}, key: {key} }}" });
        await relay.StartAsync();
        var server = await relay.AddServerAsync("rotating");
        var old = await relay.StartAgentAsync(server, echo.EndPoint, ["--fingerprint", relay.Fingerprint]);
        await AgentTests.AssertEchoAsync(server.ClientPort);

        using var second = Certificates.CreateSelfSigned("relay");
        WritePem(second, cert, key);
        relay.Process!.Signal(1); // SIGHUP: the config file is untouched, so only the signal can reload

        string fingerprint = Certificates.Sha256Fingerprint(second);
        await relay.Process.WaitForLineAsync(l => l.Contains($"certificate SHA-256 {fingerprint}"), "rotated");
        var (_, shown) = await relay.AdminAsync("fingerprint");
        Assert.Equal(fingerprint, shown.Trim());

        // The connected agent goes on, past its pool of 8: its new data connections come to the control
        // port, which still shows them the certificate the agent pinned (by SNI).
        for (int i = 0; i < 20; i++) await AgentTests.AssertEchoAsync(server.ClientPort);
        await old.DisposeAsync();
        // a new handshake sees the new one
        var fresh = await relay.StartAgentAsync(server, echo.EndPoint, ["--fingerprint", fingerprint]);
        await Wait.UntilAsync(
            () => AgentTests.TryEchoAsync(server.ClientPort), "served by the agent that pinned the new certificate");
        Assert.False(fresh.HasExited);
    }

    [Fact]
    public async Task A_relay_started_under_nohup_still_reloads_on_SIGHUP()
    {
        // nohup hands SIGHUP down ignored, and .NET would then install no handler: the relay takes it back.
        await using var relay = new TestRelay(new() { ["max_connections"] = "900" }) { UnderNohup = true };
        await relay.StartAsync();
        await relay.Process!.WaitForLineAsync(
            l => l.Contains("SIGHUP was ignored when the relay started"), "ignore taken back");
        Assert.True((SignalMask(relay.Process.Pid, "SigCgt") & 1) != 0, "SIGHUP is caught");

        relay.Process.Signal(1); // SIGHUP, the file untouched
        await relay.Process.WaitForLineAsync(
            l => l.Contains("Configuration reloaded (SIGHUP)"), "reloaded on SIGHUP", TimeSpan.FromSeconds(10));
        Assert.False(relay.Process.HasExited);
    }

    /// <summary>A signal set of /proc/PID/status (SigCgt, SigIgn...); bit 0 is SIGHUP.</summary>
    private static ulong SignalMask(int pid, string field) =>
        Convert.ToUInt64(File.ReadLines($"/proc/{pid}/status")
            .First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(':')[1].Trim(), 16);

    private static void WritePem(
        System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string certPath, string keyPath)
    {
        File.WriteAllText(
            keyPath, System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPrivateKey(
            certificate)!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
    }
}
