// How a splice ended. Both splices (two connections, or a connection and a multiplexed channel) name
// their sides the same way: A is the local connection (the client at the relay, the service at the
// agent), B the link to the other end of the tunnel (a data connection or a channel).
namespace Gray.Net;

/// <summary>What ended a splice (as YARP's StreamCopyResult says what ended a copy).</summary>
public enum SpliceEnd
{
    /// <summary>Both directions reached their end of stream and were half-closed in turn.</summary>
    Completed,

    /// <summary>Side A failed (reset, or broke a protocol); both sides were closed.</summary>
    AFailed,

    /// <summary>Side B failed; both sides were closed.</summary>
    BFailed,

    /// <summary>No byte moved for the idle timeout; both sides were closed.</summary>
    IdleTimeout,

    /// <summary>The caller cancelled, or closed a side from outside (a kick, a shutdown).</summary>
    Canceled,
}

/// <summary>How a splice ended, with the bytes carried each way.</summary>
public readonly record struct SpliceResult(long BytesAToB, long BytesBToA, SpliceEnd End)
{
    /// <summary>True unless both directions ended cleanly.</summary>
    public bool Faulted => End != SpliceEnd.Completed;
}
