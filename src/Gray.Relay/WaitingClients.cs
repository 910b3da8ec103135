// Clients that arrived when no data connection was ready, first in first out, up to a bound. Each
// waits on its own completion, which gets a data connection, or null when the tunnel shuts down.
// Not thread-safe: the tunnel holds the lock.
namespace Gray.Relay;

internal sealed class WaitingClients
{
    private readonly LinkedList<TaskCompletionSource<DataLink?>> _queue = new();

    public int Count => _queue.Count;

    /// <summary>A place at the end of the queue, or null when <paramref name="max"/> clients already wait.</summary>
    public LinkedListNode<TaskCompletionSource<DataLink?>>? TryEnqueue(int max) =>
        _queue.Count < max
            ? _queue.AddLast(new TaskCompletionSource<DataLink?>(TaskCreationOptions.RunContinuationsAsynchronously))
            : null;

    /// <summary>Gives <paramref name="data"/> to the first client still waiting; false if none is.</summary>
    public bool TryHandToFirst(DataLink data)
    {
        while (_queue.First is { } first)
        {
            _queue.RemoveFirst();
            if (first.Value.TrySetResult(data)) return true;
        }

        return false;
    }

    /// <summary>Takes every waiting client out of the queue (their completions are the caller's to finish).</summary>
    public List<TaskCompletionSource<DataLink?>> TakeAll()
    {
        List<TaskCompletionSource<DataLink?>> all = [.. _queue];
        _queue.Clear();
        return all;
    }

    /// <summary>Leaves the queue (a client that gave up); nothing if it already left.</summary>
    public void Leave(LinkedListNode<TaskCompletionSource<DataLink?>> place)
    {
        if (place.List is not null) _queue.Remove(place);
    }
}
