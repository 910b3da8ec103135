// The test host reads every child's output through thread-pool callbacks while heavy tests run in
// parallel; a pool that grows one thread at a time under load delays those lines past a test's wait.
using System.Runtime.CompilerServices;

namespace Gray.Tests.Harness;

internal static class TestHostThreads
{
    /// <summary>Pool threads available at once, before the pool's slow growth starts.</summary>
    private const int MinimumThreads = 64;

    [ModuleInitializer]
    internal static void Initialize()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, MinimumThreads), Math.Max(io, MinimumThreads));
    }
}
