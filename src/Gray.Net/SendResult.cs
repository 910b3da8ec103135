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

    /// <summary>The shared <see cref="TcpServerOptions.Quota"/> is used up.</summary>
    GlobalLimit,

    /// <summary>This source address has <see cref="TcpServerOptions.MaxSessionsPerAddress"/> sessions.</summary>
    AddressLimit,

    /// <summary>A subclass's admission rule said no (an allow/deny list, say).</summary>
    Denied,

    /// <summary>No file descriptor was left to accept with; the connection was shed.</summary>
    DescriptorsExhausted,
}
