// The relay's pub/sub multiplexor: every published event goes to every subscriber's bounded queue.
// A subscriber that falls behind is told so and dropped; publishing never waits and never grows a
// queue, and with no subscriber it allocates nothing.
using System.Threading.Channels;

namespace Gray.Relay.Events;

public sealed class RelayEventHub(TimeProvider time)
{
    /// <summary>Events a subscriber may have unread before it is dropped.</summary>
    public const int QueueEvents = 1024;

    /// <summary>Subscribers at once; more are refused, so that subscribing cannot exhaust memory.</summary>
    public const int MaxSubscribers = 64;

    /// <summary>Refusals published per second at most: a flood of refused connections must not drown the
    /// stream (the metrics count every one).</summary>
    public const int RefusalsPerSecond = 20;

    private readonly object _gate = new();
    private volatile Subscription[] _subscribers = [];
    private long _sequence;
    private long _refusalSecond;
    private int _refusalsThisSecond;

    public bool HasSubscribers => _subscribers.Length > 0;

    public int SubscriberCount => _subscribers.Length;

    /// <summary>A new subscription, or null when <see cref="MaxSubscribers"/> are already subscribed.</summary>
    public Subscription? Subscribe()
    {
        lock (_gate)
        {
            if (_subscribers.Length >= MaxSubscribers) return null;
            var subscription = new Subscription(this);
            _subscribers = [.. _subscribers, subscription];
            return subscription;
        }
    }

    /// <summary>Publishes an event; the client's address becomes text only when someone listens, so that
    /// the pair and refusal paths allocate nothing for the stream while it has no subscriber.</summary>
    public void Publish(string type, string? server = null, System.Net.IPAddress? client = null,
        long? bytesIn = null, long? bytesOut = null, string? reason = null)
    {
        var subscribers = _subscribers;
        if (subscribers.Length == 0) return;
        if (type == RelayEventTypes.Refused && !TakeRefusal()) return;
        var item = new RelayEvent(Interlocked.Increment(ref _sequence), time.GetUtcNow(), type, server,
            client?.ToString(), bytesIn, bytesOut, reason);
        foreach (var subscriber in subscribers)
        {
            if (!subscriber.Queue.Writer.TryWrite(item)) subscriber.Drop();
        }
    }

    private bool TakeRefusal()
    {
        long second = time.GetUtcNow().ToUnixTimeSeconds();
        if (Interlocked.Exchange(ref _refusalSecond, second) != second) Volatile.Write(ref _refusalsThisSecond, 0);
        return Interlocked.Increment(ref _refusalsThisSecond) <= RefusalsPerSecond;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate) _subscribers = [.. _subscribers.Where(s => s != subscription)];
    }

    /// <summary>One subscriber's queue; dispose to unsubscribe.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly RelayEventHub _hub;

        internal Subscription(RelayEventHub hub)
        {
            _hub = hub;
            Queue = Channel.CreateBounded<RelayEvent>(
                new BoundedChannelOptions(QueueEvents) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        }

        internal Channel<RelayEvent> Queue { get; }

        /// <summary>True once it fell behind: the reader then sees the queue end.</summary>
        public bool WasDropped { get; private set; }

        public ChannelReader<RelayEvent> Events => Queue.Reader;

        internal void Drop()
        {
            WasDropped = true;
            _hub.Remove(this);
            Queue.Writer.TryComplete();
        }

        public void Dispose()
        {
            _hub.Remove(this);
            Queue.Writer.TryComplete();
        }
    }
}
