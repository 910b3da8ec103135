// `ssh -R`: a private sshd on loopback (its own host key and authorized key) and an ssh client that
// forwards a remote port to the service, with OpenSSH's default cipher choice.
namespace Gray.TunnelBench.Setups;

internal sealed class SshSetup(string scratch) : TunnelSetup
{
    public const string Daemon = "/usr/sbin/sshd", Client = "/usr/bin/ssh", KeyGen = "/usr/bin/ssh-keygen";

    private static readonly TimeSpan KeyGenTimeout = TimeSpan.FromSeconds(30);

    private ChildProcess? _sshd, _ssh;

    public override string Name => Report.Goals.Ssh;

    public override async Task<int> StartAsync(int targetPort)
    {
        string dir = Directory.CreateDirectory(Path.Combine(scratch, $"ssh-{Guid.NewGuid():N}")).FullName;
        string hostKey = Path.Combine(dir, "host_key"), clientKey = Path.Combine(dir, "client_key");
        foreach (string key in new[] { hostKey, clientKey })
        {
            var (exit, output) = await ChildProcess.RunAsync(
                KeyGen, ["-q", "-t", "ed25519", "-N", "", "-f", key], KeyGenTimeout);
            if (exit != 0) throw new BenchException($"ssh-keygen failed: {output}");
        }

        File.Copy(clientKey + ".pub", Path.Combine(dir, "authorized_keys"));
        Directory.CreateDirectory("/run/sshd"); // privilege separation directory
        int sshdPort = Ports.Free();
        string config = Path.Combine(dir, "sshd_config");
        await File.WriteAllTextAsync(config, $"""
            Port {sshdPort}
            ListenAddress 127.0.0.1
            HostKey {hostKey}
            AuthorizedKeysFile {dir}/authorized_keys
            PidFile {dir}/sshd.pid
            StrictModes no
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            AllowTcpForwarding yes
            MaxStartups 100:30:200

            """);
        _sshd = ChildProcess.Start("sshd", Daemon, ["-D", "-e", "-f", config]);
        await Listening.WaitUntilAcceptingAsync(sshdPort, _sshd);

        int port = Ports.Free();
        _ssh = ChildProcess.Start("ssh", Client,
        [
            "-N", "-T", "-i", clientKey, "-p", sshdPort.ToString(), "-o", "BatchMode=yes", "-o",
            "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
            "-R", $"127.0.0.1:{port}:127.0.0.1:{targetPort}", "root@127.0.0.1",
        ]);
        await Listening.WaitUntilAcceptingAsync(port, _ssh);
        return port;
    }

    public override IReadOnlyList<int> RelayPids() => _sshd is null ? [] : ProcessStats.Tree(_sshd.Pid);

    public override IReadOnlyList<int> AgentPids() => _ssh is null ? [] : [_ssh.Pid];

    public override void EnsureRunning()
    {
        _sshd?.EnsureRunning();
        _ssh?.EnsureRunning();
    }

    public override async ValueTask DisposeAsync()
    {
        if (_ssh is not null) await _ssh.DisposeAsync();
        if (_sshd is not null)
        {
            // The session process outlives the listener's SIGTERM for a moment; end the whole tree.
            foreach (int pid in ProcessStats.Tree(_sshd.Pid).Skip(1)) TryKill(pid);
            await _sshd.DisposeAsync();
        }
    }

    private static void TryKill(int pid)
    {
        try
        {
            System.Diagnostics.Process.GetProcessById(pid).Kill();
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException)
        {
            // already gone
        }
    }
}
