// A program from Debian's packages that a test runs as a service on a loopback port, stopped on dispose.
namespace Gray.Tests.Harness;

public abstract class ServiceProgram(GrayProcess process, int port) : IAsyncDisposable
{
    public int Port => port;

    /// <summary>What the program printed so far.</summary>
    public string Output => process.Output;

    protected GrayProcess Process => process;

    public async ValueTask DisposeAsync() => await process.DisposeAsync();
}
