// The messages of the control connection, one record each: what it carries, how it is written and
// how it is read (docs/protocol.md, "Control frames").
using Gray.Net;

namespace Gray.Protocol;

public abstract record ControlMessage
{
    public abstract FrameType Type { get; }

    internal abstract int PayloadBytes { get; }

    internal abstract void Write(ref SpanWriter writer);

    /// <summary>A field of fixed length; another length is the caller's bug.</summary>
    private protected static ReadOnlySpan<byte> Fixed(byte[] value, int length) =>
        value.Length == length
            ? value : throw new ArgumentException($"expected {length} bytes, got {value.Length}", nameof(value));
}

/// <summary>Agent → relay: who it is and what it asks for; <paramref name="Software"/> (optional, last)
/// names the agent's program and version for the relay's listings.</summary>
public sealed record Hello(ushort Version, ushort Pool, bool PlainData, string Id, bool KeyAuth = false,
    bool Mux = false, string? Software = null, ProxyProtocolVersion ProxyProtocol = ProxyProtocolVersion.None,
    bool Cluster = false)
    : ControlMessage
{
    public override FrameType Type => FrameType.Hello;

    internal override int PayloadBytes =>
        2 + 2 + 1 + SpanWriter.StrBytes(Id) + (Software is null ? 0 : SpanWriter.StrBytes(Software));

    internal override void Write(ref SpanWriter writer)
    {
        writer.U16(Version);
        writer.U16(Pool);
        writer.U8((byte)((PlainData ? Wire.FlagPlainData : 0) | (KeyAuth ? Wire.FlagKeyAuth : 0)
            | (Mux ? Wire.FlagMux : 0) | (Cluster ? Wire.FlagCluster : 0)
            | ((byte)ProxyProtocol << Wire.ProxyProtocolShift)));
        writer.Str(Id);
        if (Software is not null) writer.Str(Software);
    }

    internal static Hello Read(ref SpanReader reader)
    {
        ushort version = reader.U16(), pool = reader.U16();
        byte flags = reader.U8();
        string id = reader.Str(Wire.MaxIdBytes);
        string? software = reader.Remaining > 0 ? reader.Str(Wire.MaxSoftwareBytes) : null;
        var proxyProtocol = (ProxyProtocolVersion)((flags & Wire.ProxyProtocolMask) >> Wire.ProxyProtocolShift);
        return new Hello(version, pool, (flags & Wire.FlagPlainData) != 0, id,
            (flags & Wire.FlagKeyAuth) != 0, (flags & Wire.FlagMux) != 0, software,
            proxyProtocol > ProxyProtocolVersion.V2 ? ProxyProtocolVersion.None : proxyProtocol,
            (flags & Wire.FlagCluster) != 0);
    }
}

/// <summary>Relay → agent: random bytes the agent must prove it can sign or MAC.</summary>
public sealed record Challenge(byte[] Nonce) : ControlMessage
{
    public override FrameType Type => FrameType.Challenge;

    internal override int PayloadBytes => Wire.ChallengeBytes;

    internal override void Write(ref SpanWriter writer) => writer.Bytes(Fixed(Nonce, Wire.ChallengeBytes));

    internal static Challenge Read(ref SpanReader reader) => new(reader.Bytes(Wire.ChallengeBytes));
}

/// <summary>Agent → relay: the HMAC of the challenge with the server's secret.</summary>
public sealed record Proof(byte[] Mac) : ControlMessage
{
    public override FrameType Type => FrameType.Proof;

    internal override int PayloadBytes => Wire.ProofBytes;

    internal override void Write(ref SpanWriter writer) => writer.Bytes(Fixed(Mac, Wire.ProofBytes));

    internal static Proof Read(ref SpanReader reader) => new(reader.Bytes(Wire.ProofBytes));
}

/// <summary>Agent → relay: the ECDSA P-256 signature of the challenge by a trusted key.</summary>
public sealed record SignedProof(byte[] Signature) : ControlMessage
{
    public override FrameType Type => FrameType.SignedProof;

    internal override int PayloadBytes => Wire.SignatureBytes;

    internal override void Write(ref SpanWriter writer) => writer.Bytes(Fixed(Signature, Wire.SignatureBytes));

    internal static SignedProof Read(ref SpanReader reader) => new(reader.Bytes(Wire.SignatureBytes));
}

/// <summary>Relay → agent: the agent is in; its ports and the ping timings.</summary>
public sealed record Welcome(int ClientPort, int DataPort, bool PlainData, TimeSpan PingInterval, TimeSpan PingTimeout,
    bool Mux = false)
    : ControlMessage
{
    public override FrameType Type => FrameType.Welcome;

    internal override int PayloadBytes => 2 + 2 + 1 + 4 + 4;

    internal override void Write(ref SpanWriter writer)
    {
        writer.U16((ushort)ClientPort);
        writer.U16((ushort)DataPort);
        writer.U8((byte)((PlainData ? Wire.WelcomePlainData : 0) | (Mux ? Wire.WelcomeMux : 0)));
        writer.U32((uint)PingInterval.TotalMilliseconds);
        writer.U32((uint)PingTimeout.TotalMilliseconds);
    }

    internal static Welcome Read(ref SpanReader reader)
    {
        int clientPort = reader.U16(), dataPort = reader.U16();
        byte flags = reader.U8();
        return new Welcome(clientPort, dataPort, (flags & Wire.WelcomePlainData) != 0,
            TimeSpan.FromMilliseconds(reader.U32()), TimeSpan.FromMilliseconds(reader.U32()),
            (flags & Wire.WelcomeMux) != 0);
    }
}

/// <summary>Relay → agent: why the session is refused or ended.</summary>
public sealed record ErrorMessage(ErrorCode Code, string Message) : ControlMessage
{
    /// <summary>Longest message sent, in characters.</summary>
    private const int MaxMessageChars = 1000;

    public override FrameType Type => FrameType.Error;

    private string Sent => Message.Length > MaxMessageChars ? Message[..MaxMessageChars] : Message;

    internal override int PayloadBytes => 2 + SpanWriter.StrBytes(Sent);

    internal override void Write(ref SpanWriter writer)
    {
        writer.U16((ushort)Code);
        writer.Str(Sent);
    }

    internal static ErrorMessage Read(ref SpanReader reader) =>
        new((ErrorCode)reader.U16(), reader.Str(Wire.MaxFrameBytes));
}

/// <summary>Relay → agent: one-time passwords, one per data connection to open.</summary>
public sealed record Otps(IReadOnlyList<byte[]> Values) : ControlMessage
{
    public override FrameType Type => FrameType.Otps;

    internal override int PayloadBytes => 1 + Values.Count * Wire.OtpBytes;

    internal override void Write(ref SpanWriter writer)
    {
        if (Values.Count is 0 or > Wire.MaxOtpsPerFrame) throw new ArgumentOutOfRangeException(nameof(Values));
        writer.U8((byte)Values.Count);
        foreach (byte[] otp in Values) writer.Bytes(Fixed(otp, Wire.OtpBytes));
    }

    internal static Otps Read(ref SpanReader reader)
    {
        int count = reader.U8();
        if (count == 0) throw new ProtocolException("malformed OTP frame");
        var values = new byte[count][];
        for (int i = 0; i < count; i++) values[i] = reader.Bytes(Wire.OtpBytes);
        return new Otps(values);
    }
}

/// <summary>Either side: are you there? The nonce comes back in the pong.</summary>
public sealed record Ping(ulong Nonce) : ControlMessage
{
    public override FrameType Type => FrameType.Ping;

    internal override int PayloadBytes => 8;

    internal override void Write(ref SpanWriter writer) => writer.U64(Nonce);

    internal static Ping Read(ref SpanReader reader) => new(reader.U64());
}

/// <summary>The answer to a ping, with its nonce.</summary>
public sealed record Pong(ulong Nonce) : ControlMessage
{
    public override FrameType Type => FrameType.Pong;

    internal override int PayloadBytes => 8;

    internal override void Write(ref SpanWriter writer) => writer.U64(Nonce);

    internal static Pong Read(ref SpanReader reader) => new(reader.U64());
}

/// <summary>Agent → relay, the first frame of a data connection on the control port: which server's
/// pool it joins, its kind, and the OTP that admits it.</summary>
public sealed record DataOpen(DataConnectionKind Kind, string Id, byte[] Otp) : ControlMessage
{
    public override FrameType Type => FrameType.DataOpen;

    public bool Multiplexed => Kind == DataConnectionKind.Multiplexed;

    internal override int PayloadBytes => 1 + SpanWriter.StrBytes(Id) + Wire.OtpBytes;

    internal override void Write(ref SpanWriter writer)
    {
        writer.U8((byte)Kind);
        writer.Str(Id);
        writer.Bytes(Fixed(Otp, Wire.OtpBytes));
    }

    internal static DataOpen Read(ref SpanReader reader)
    {
        var kind = (DataConnectionKind)reader.U8();
        if (!Enum.IsDefined(kind)) throw new ProtocolException($"unsupported data connection kind {(byte)kind}");
        return new DataOpen(kind, reader.Str(Wire.MaxIdBytes), reader.Bytes(Wire.OtpBytes));
    }
}
