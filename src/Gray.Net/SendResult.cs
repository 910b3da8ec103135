namespace Gray.Net;

/// <summary>What happened to a message given to <see cref="TcpConnection.Send"/>.</summary>
public enum SendResult
{
    Queued,

    /// <summary>The queue was full and the policy is <see cref="SendOverflowPolicy.Drop"/>.</summary>
    Dropped,

    /// <summary>The connection is closed (or was just closed because its queue overflowed).</summary>
    Closed,
}

/// <summary>Why a server refused a new connection.</summary>
public enum RefuseReason
{
    Banned,
    SessionLimit,
    Paused,
}
