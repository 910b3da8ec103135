// Gray's wire format, shared by relay and agent (docs/protocol.md is the human-readable copy).
namespace Gray.Protocol;

public static class Wire
{
    /// <summary>3: data connections may come to the control port (DataOpen), and do unless the relay's
    /// Welcome names a data port. 2: proofs cover the TLS channel binding (decision 0034).</summary>
    public const ushort Version = 3;

    /// <summary>The oldest agent version a relay serves: it gets a separate data port.</summary>
    public const ushort MinVersion = 2;

    /// <summary>Largest control frame (type byte + payload), in bytes.</summary>
    public const int MaxFrameBytes = 16 * 1024;

    /// <summary>
    /// Largest Hello frame (type, version, pool, flags, ID, software), in bytes: all the relay reads first.
    /// </summary>
    public const int MaxHelloFrameBytes = 1 + 2 + 2 + 1 + 2 + MaxIdBytes + 2 + MaxSoftwareBytes;

    /// <summary>Largest proof frame (type and a signature), in bytes: all the relay reads before the proof.</summary>
    public const int MaxProofFrameBytes = 1 + SignatureBytes;

    /// <summary>Frame header: the big-endian u32 length of type + payload.</summary>
    public const int LengthBytes = 4;

    public const int MaxIdBytes = 64;

    /// <summary>Longest software name in a Hello ("gray/0.1.0"), in bytes.</summary>
    public const int MaxSoftwareBytes = 32;

    public const int ChallengeBytes = 32;

    public const int ProofBytes = 32;

    /// <summary>An ECDSA P-256 signature in IEEE P1363 form (r ‖ s).</summary>
    public const int SignatureBytes = 64;

    /// <summary>Hello flag bits. FlagCluster: the agent follows a cluster's nodes (ClusterNodes frames).</summary>
    public const byte FlagPlainData = 0x01, FlagKeyAuth = 0x02, FlagMux = 0x04, FlagCluster = 0x20;

    /// <summary>Most nodes one ClusterNodes frame lists.</summary>
    public const int MaxClusterNodes = 32;

    /// <summary>Longest advertised node address (host:port), in bytes.</summary>
    public const int MaxNodeAddressBytes = 128;

    /// <summary>A certificate's SHA-256, in bytes.</summary>
    public const int FingerprintBytes = 32;

    /// <summary>ClusterNodes flag bits, per node.</summary>
    public const byte NodeDraining = 0x01;

    /// <summary>Hello flag bits 3-4: the PROXY protocol version the agent writes to its service (0: none), for
    /// the relay's listings only.</summary>
    public const int ProxyProtocolShift = 3, ProxyProtocolMask = 0x18;

    /// <summary>Welcome flag bits.</summary>
    public const byte WelcomePlainData = 0x01, WelcomeMux = 0x02;

    /// <summary>One-time passwords are 128 bits from a CSPRNG.</summary>
    public const int OtpBytes = 16;

    /// <summary>Data preface: kind byte + OTP.</summary>
    public const int DataPrefaceBytes = 1 + OtpBytes;

    /// <summary>Start frame on a data connection: type, family, 16 address bytes, port.</summary>
    public const int StartFrameBytes = 1 + 1 + 16 + 2;

    public const int MaxOtpsPerFrame = 255;

    public const int MinPool = 1;

    public const int MaxPool = 256;
}

public enum FrameType : byte
{
    Hello = 0x01,
    Challenge = 0x02,
    Proof = 0x03,
    SignedProof = 0x06,
    Welcome = 0x04,
    Error = 0x05,
    Otps = 0x10,
    Ping = 0x11,
    Pong = 0x12,
    ClusterNodes = 0x13,
    DataOpen = 0x20,
}

/// <summary>Why the relay refused or ended a control session.</summary>
public enum ErrorCode : ushort
{
    UnknownId = 1,
    BadProof = 2,
    UnsupportedVersion = 3,
    PoolOutOfRange = 4,
    PlainDataForbidden = 5,
    Malformed = 6,
    Deleted = 7,
    Replaced = 8,
    ShuttingDown = 9,
    Unavailable = 10,
    KeyRevoked = 11,
    TooManyAttempts = 12,
}

/// <summary>What a data connection carries, as its preface says.</summary>
public enum DataConnectionKind : byte
{
    /// <summary>One pair, then the connection is used up (version 1's only kind).</summary>
    Pooled = 1,

    /// <summary>A channel per client (docs/protocol.md, "Multiplexed data connections").</summary>
    Multiplexed = 2,
}

/// <summary>The relay's frames on a data connection.</summary>
public enum DataFrameType : byte
{
    Start = 0x20,

    /// <summary>A UDP flow's open payload: its datagrams follow on the channel.</summary>
    StartDatagrams = 0x21,
}
