// A cancellation that comes when a timeout passes on a given clock, or when an outer token is
// cancelled: the one way deadlines are made, so that tests can drive every one with a fake clock.
namespace Gray.Net;

public sealed class Deadline : IDisposable
{
    private readonly CancellationTokenSource _timeLimit;
    private readonly CancellationTokenSource _linked;

    public Deadline(TimeSpan timeout, TimeProvider time, CancellationToken outer, CancellationToken another = default)
    {
        _timeLimit = new CancellationTokenSource(timeout, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(outer, another, _timeLimit.Token);
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>Starts the timeout again from now (a sign of life); no effect once it expired.</summary>
    public void Restart(TimeSpan timeout) => _timeLimit.CancelAfter(timeout);

    public void Dispose()
    {
        _linked.Dispose();
        _timeLimit.Dispose();
    }
}
