// One way of carrying a TCP service to a client port: no tunnel, Gray, haproxy or `ssh -R`.
namespace Gray.TunnelBench.Setups;

internal abstract class TunnelSetup : IAsyncDisposable
{
    /// <summary>Name in the report.</summary>
    public abstract string Name { get; }

    /// <summary>Starts the tunnel to a service on 127.0.0.1:<paramref name="targetPort"/>; the port clients
    /// use.</summary>
    public abstract Task<int> StartAsync(int targetPort);

    /// <summary>
    /// Starts the tunnel for UDP to 127.0.0.1:<paramref name="targetPort"/>; the UDP port clients use, or null
    /// where the setup carries no UDP (haproxy and ssh -R here).
    /// </summary>
    public virtual Task<int?> StartUdpAsync(int targetPort) => Task.FromResult<int?>(null);

    /// <summary>
    /// Starts the setup with a shared port that routes <paramref name="kind"/>'s name (NamedTargets) to
    /// 127.0.0.1:<paramref name="targetPort"/>; that port, or null where the setup routes no names (ssh -R).
    /// </summary>
    public virtual Task<int?> StartByNameAsync(int targetPort, ByNameKind kind) => Task.FromResult<int?>(null);

    /// <summary>Limits client → service bandwidth; false where the setup has no such setting.</summary>
    public virtual Task<bool> LimitBandwidthAsync(long bytesPerSecond) => Task.FromResult(false);

    /// <summary>The public side's processes (relay, haproxy, sshd and its session processes).</summary>
    public virtual IReadOnlyList<int> RelayPids() => [];

    /// <summary>How long after its start the setup's memory is its steady idle (Gray: after its first memory
    /// housekeeping has returned what starting took).</summary>
    public virtual TimeSpan SettleAfterStart => TimeSpan.Zero;

    /// <summary>Descriptors the public side holds per idle tunneled connection (client and service side).</summary>
    public virtual int DescriptorsPerIdleConnection => 2;

    /// <summary>The private side's processes (agent, ssh client).</summary>
    public virtual IReadOnlyList<int> AgentPids() => [];

    /// <summary>Fails with the output of a child that has exited.</summary>
    public virtual void EnsureRunning()
    {
    }

    public abstract ValueTask DisposeAsync();
}

/// <summary>What a shared port routes by: the HTTP Host header, or the TLS server name (passed through).</summary>
internal enum ByNameKind
{
    Http,
    Tls,
}
