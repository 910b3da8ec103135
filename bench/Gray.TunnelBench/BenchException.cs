// A set-up or measurement failure: the benchmark prints its message and exits with 1.
namespace Gray.TunnelBench;

internal sealed class BenchException(string message) : Exception(message);
