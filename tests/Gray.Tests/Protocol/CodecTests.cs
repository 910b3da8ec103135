// Every message of the wire format goes through the one encoder and comes back equal, and the
// decoder refuses short, long and unknown input with a ProtocolException (never another exception).
using System.Net;
using System.Security.Cryptography;
using Gray.Net;
using Gray.Protocol;

namespace Gray.Tests.Protocol;

public class CodecTests
{
    public static TheoryData<ControlMessage> Messages => new()
    {
        new Hello(Wire.Version, 8, PlainData: true, "web", KeyAuth: true, Mux: true),
        new Hello(Wire.Version, 256, PlainData: false, "ünïcode-id"),
        new Hello(Wire.Version, 4, PlainData: false, "proxied", Software: "gray/1.0.0",
            ProxyProtocol: ProxyProtocolVersion.V2),
        new Challenge(RandomNumberGenerator.GetBytes(Wire.ChallengeBytes)),
        new Proof(RandomNumberGenerator.GetBytes(Wire.ProofBytes)),
        new SignedProof(RandomNumberGenerator.GetBytes(Wire.SignatureBytes)),
        new Welcome(20000, 20001, PlainData: true, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), Mux: true),
        new ErrorMessage(ErrorCode.BadProof, "wrong secret"),
        new Otps([RandomNumberGenerator.GetBytes(Wire.OtpBytes), RandomNumberGenerator.GetBytes(Wire.OtpBytes)]),
        new Ping(ulong.MaxValue),
        new Pong(42),
        new Hello(Wire.Version, 8, PlainData: false, "clustered", Cluster: true),
        new ClusterNodes("n1", [new ClusterNode("n1", "10.0.0.1:44555", RandomNumberGenerator.GetBytes(32), false),
            new ClusterNode("n2", "relay-2.example.org:44555", RandomNumberGenerator.GetBytes(32), Draining: true)]),
        new ClusterNodes("alone", []),
    };

    [Fact]
    public void A_node_list_longer_than_the_limit_is_refused()
    {
        var node = new ClusterNode("n", "h:1", new byte[Wire.FingerprintBytes], false);
        Assert.Throws<ArgumentException>(() =>
            ControlFrames.Encode(new ClusterNodes("n", [.. Enumerable.Repeat(node, Wire.MaxClusterNodes + 1)])));
        byte[] frame = ControlFrames.Encode(new ClusterNodes("n", [node]));
        frame[Wire.LengthBytes + 1 + 2 + 1] = Wire.MaxClusterNodes + 1; // the count byte after "n"
        Assert.Throws<ProtocolException>(() => ControlFrames.Decode(frame.AsSpan(Wire.LengthBytes)));
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task A_control_message_comes_back_as_it_was_sent(ControlMessage message)
    {
        byte[] frame = ControlFrames.Encode(message);
        var back = await ControlFrames.ReadAsync(new MemoryStream(frame), CancellationToken.None);
        Assert.NotNull(back);
        Assert.Equal(message.Type, back.Type);
        Assert.Equal(ControlFrames.Encode(message), ControlFrames.Encode(back)); // field by field, arrays included
        Assert.Null(await ControlFrames.ReadAsync(new MemoryStream(), CancellationToken.None)); // a clean end
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task A_control_frame_cut_short_or_with_bytes_left_over_is_a_protocol_error(ControlMessage message)
    {
        byte[] frame = ControlFrames.Encode(message);
        for (int length = 1; length < frame.Length; length++)
        {
            await Assert.ThrowsAsync<ProtocolException>(
                () => ControlFrames.ReadAsync(new MemoryStream(frame[..length]), CancellationToken.None));
        }

        byte[] body = frame[Wire.LengthBytes..];
        Assert.Throws<ProtocolException>(() => ControlFrames.Decode([.. body, 0]));
        if (body.Length > 1) Assert.Throws<ProtocolException>(() => ControlFrames.Decode(body[..^1]));
    }

    [Fact]
    public void An_unknown_frame_type_is_a_protocol_error() =>
        Assert.Throws<ProtocolException>(() => ControlFrames.Decode([0x7f, 1, 2, 3]));

    [Theory]
    [InlineData("203.0.113.7", 443)]
    [InlineData("2001:db8::1", 65535)]
    [InlineData("::ffff:192.0.2.1", 1)]
    public void A_start_frame_carries_the_client_address(string address, int port)
    {
        var client = new IPEndPoint(IPAddress.Parse(address), port);
        var back = Start.Decode(new Start(client).Encode()).Client;
        var expected = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        Assert.Equal(new IPEndPoint(expected, port), back);
        Assert.Throws<ProtocolException>(() => Start.Decode(new Start(client).Encode()[..^1]));
        byte[] wrongType = new Start(client).Encode();
        wrongType[0] = 0x22;
        Assert.Throws<ProtocolException>(() => Start.Decode(wrongType));
        Assert.True(Start.Decode(new Start(client, Datagrams: true).Encode()).Datagrams); // a UDP flow's open
    }

    [Theory]
    [InlineData(DataConnectionKind.Pooled)]
    [InlineData(DataConnectionKind.Multiplexed)]
    public void A_data_preface_carries_its_kind_and_otp(DataConnectionKind kind)
    {
        byte[] otp = RandomNumberGenerator.GetBytes(Wire.OtpBytes);
        var back = DataPreface.Decode(new DataPreface(kind, otp).Encode());
        Assert.Equal(kind, back.Kind);
        Assert.Equal(otp, back.Otp);
        byte[] unknownKind = new DataPreface(kind, otp).Encode();
        unknownKind[0] = 9;
        Assert.Throws<ProtocolException>(() => DataPreface.Decode(unknownKind));
        Assert.Throws<ProtocolException>(() => DataPreface.Decode(unknownKind[..^1]));
    }
}
