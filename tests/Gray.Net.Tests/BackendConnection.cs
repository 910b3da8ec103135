// The backend side of the splice tests' proxies: a client the splice drives; its own loop only waits.
using System.Net;
using Gray.Net;

namespace Gray.Net.Tests;

internal sealed class BackendConnection(IPEndPoint backend) : TcpClient(backend)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _released.TrySetResult();

    protected override Task RunAsync(CancellationToken cancellationToken) =>
        _released.Task.WaitAsync(cancellationToken);
}
