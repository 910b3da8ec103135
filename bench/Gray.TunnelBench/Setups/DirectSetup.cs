// No tunnel: clients connect to the service itself. The reference for every ratio.
namespace Gray.TunnelBench.Setups;

internal sealed class DirectSetup : TunnelSetup
{
    public override string Name => Report.Goals.Direct;

    public override Task<int> StartAsync(int targetPort) => Task.FromResult(targetPort);

    public override Task<int?> StartUdpAsync(int targetPort) => Task.FromResult<int?>(targetPort);

    public override Task<int?> StartByNameAsync(int targetPort, ByNameKind kind) => Task.FromResult<int?>(targetPort);

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
