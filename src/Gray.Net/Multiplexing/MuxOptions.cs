// Limits of a multiplexed connection: the per-channel windows, the channel count, the write queue.
namespace Gray.Net.Multiplexing;

public sealed class MuxOptions
{
    /// <summary>Bytes a sender may have in flight on a new channel before the receiver grants more.</summary>
    public const int InitialWindowBytes = 64 * 1024;

    /// <summary>
    /// Largest window a receiver may grow a channel to, in bytes: a fast channel needs about this much in
    /// flight to keep a loopback-speed stream busy (decision 0015).
    /// </summary>
    public const int MaxWindowBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Largest data frame payload, in bytes: with its header, exactly one full TLS record (16 KiB), so
    /// that records and frames line up and channels interleave finely.
    /// </summary>
    public const int MaxPayloadBytes = 16 * 1024 - MuxFrame.HeaderBytes;

    /// <summary>
    /// Largest read from a local connection, in bytes (about the plain splice's 64 KiB, in whole frames):
    /// the writer cuts it into frames, and the receiver joins a channel's consecutive frames into one
    /// local write.
    /// </summary>
    public const int ChunkBytes = 4 * MaxPayloadBytes;

    /// <summary>Largest open frame payload, in bytes (the opener's description of the channel).</summary>
    public const int MaxOpenPayloadBytes = 64;

    /// <summary>Channels open at once; an open beyond it is reset at once.</summary>
    public int MaxChannels { get; init; } = 16 * 1024;

    /// <summary>Window growth shared with every connection given the same budget (one per relay or agent).</summary>
    public MuxWindowBudget WindowBudget { get; init; } = new();

    /// <summary>Bytes queued for the transport before channel senders wait for room, in bytes.</summary>
    public int MaxQueuedBytes { get; init; } = 4 * 1024 * 1024;
}
