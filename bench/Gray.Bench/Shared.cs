// State every part of one benchmark run shares: the start and stop signals, the error count,
// and the first error seen (printed to stderr so that a failing run says why).
namespace Gray.Bench;

internal sealed class Shared(BenchOptions options)
{
    private long _errors;
    private volatile bool _stopping;
    private string? _firstError;

    public BenchOptions Options { get; } = options;

    public int Size => Options.Size;

    /// <summary>Completed when the measured run begins; clients wait for it before their first send.</summary>
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when the time is up: nobody sends any more, and closing connections are no errors.</summary>
    public bool Stopping => _stopping;

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstError => Volatile.Read(ref _firstError);

    public void Stop() => _stopping = true;

    public void Error(string what, long count = 1)
    {
        Interlocked.Add(ref _errors, count);
        Interlocked.CompareExchange(ref _firstError, what, null);
    }

    public void Error(Exception error) => Error($"{error.GetType().Name}: {error.Message}");
}

/// <summary>What a benchmark measured at the end of its run.</summary>
internal readonly record struct Sample(long Bytes, long Messages);

/// <summary>One scenario on one transport: set up, run traffic, sample, stop.</summary>
internal interface IBenchmark : IAsyncDisposable
{
    int Port { get; }

    /// <summary>Starts the server and connects every client; no traffic yet.</summary>
    Task SetUpAsync(CancellationToken cancellationToken);

    /// <summary>Starts the traffic (the clock starts just before).</summary>
    void Start();

    /// <summary>What the clients received so far.</summary>
    Sample Sample();

    /// <summary>Errors found by looking at the traffic itself (UDP echo: lost datagrams).</summary>
    long DetectedErrors => 0;

    /// <summary>Extra facts for stderr (drops, refills); each line starts with '#'.</summary>
    IEnumerable<string> Diagnostics();
}
