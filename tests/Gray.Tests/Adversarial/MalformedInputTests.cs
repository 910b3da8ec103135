// Bad bytes on the control and data ports: each attempt is closed, and the healthy tunnel still works.
// The relay runs in this process, so a crash or a hang would take the test down with it.
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests.Adversarial;

public sealed class MalformedInputTests : IAsyncLifetime
{
    private static readonly TimeSpan ClosedWithin = TimeSpan.FromSeconds(10);
    private InProcessHealthyTunnel _tunnel = null!;

    // The healthy server keeps a separate data port, so that its attacks are tried there too; the other
    // servers' data connections come to the control port.
    public async Task InitializeAsync() =>
        _tunnel = await InProcessHealthyTunnel.StartAsync(o =>
        {
            o.HelloTimeout = o.HandshakeTimeout = o.OtpTimeout = TimeSpan.FromSeconds(2);
            o.Servers["healthy"] = new Gray.Relay.ServerRules { SeparateDataPort = true };
        });

    public async Task DisposeAsync() => await _tunnel.DisposeAsync();

    public static IEnumerable<object[]> ControlAttacks() =>
    [
        ["random bytes", RandomNumberGenerator.GetBytes(4096)],
        ["truncated header", new byte[] { 0, 0 }],
        ["truncated frame", new byte[] { 0, 0, 0, 100, (byte)FrameType.Hello, 0, 1 }],
        ["longer than the maximum", Length(Wire.MaxFrameBytes + 1)],
        ["overflowing length", Length(uint.MaxValue)],
        ["empty frame", Length(0)],
        ["unknown frame type", new byte[] { 0, 0, 0, 1, 0x7f }],
        ["a challenge from the agent", ControlFrames.Encode(new Challenge(new byte[32]))],
        ["a hello with a 1 MB id", HugeHello()],
        ["a hello with trailing bytes", WithTrailingBytes(ControlFrames.Encode(new Hello(1, 8, false, "healthy")))],
        ["a hello with invalid UTF-8", HelloWithBadUtf8()],
        ["a data open for a server with no agent",
            ControlFrames.Encode(new DataOpen(DataConnectionKind.Pooled, "nobody", new byte[Wire.OtpBytes]))],
        ["a data open with an OTP never issued",
            ControlFrames.Encode(new DataOpen(DataConnectionKind.Pooled, "healthy", new byte[Wire.OtpBytes]))],
        ["a data open of an unknown kind", DataOpenOfKind(9)],
    ];

    private static byte[] DataOpenOfKind(byte kind)
    {
        var frame = ControlFrames.Encode(new DataOpen(DataConnectionKind.Pooled, "healthy", new byte[Wire.OtpBytes]));
        frame[Wire.LengthBytes + 1] = kind; // after the length and the type byte
        return frame;
    }

    [Theory]
    [MemberData(nameof(ControlAttacks))]
    public async Task Malformed_control_frames_after_TLS_close_the_connection(string attack, byte[] bytes)
    {
        await using var control = await FakeAgent.TlsAsync(_tunnel.Relay.ControlPort);
        try
        {
            await control.WriteAsync(bytes);
        }
        catch (IOException)
        {
            // the relay may close while a huge frame is still being written
        }

        Assert.True(await FakeAgent.IsClosedAsync(control, ClosedWithin), $"{attack}: the connection stayed open");
        await _tunnel.AssertHealthyAsync();
    }

    [Fact]
    public async Task Random_bytes_before_TLS_close_the_connection()
    {
        foreach (int port in new[] { _tunnel.Relay.ControlPort, _tunnel.Server.DataPort })
        {
            using var raw = await Tcp.ConnectAsync(port);
            await raw.SendAsync(RandomNumberGenerator.GetBytes(2048));
            Assert.True(await Tcp.IsClosedByPeerAsync(raw, ClosedWithin), $"port {port} kept garbage open");
        }

        await _tunnel.AssertHealthyAsync();
    }

    [Fact]
    public async Task Plain_TCP_where_TLS_is_expected_and_TLS_with_garbage_are_closed()
    {
        // A plain-data preface on the TLS data port.
        using (var plain = await Tcp.ConnectAsync(_tunnel.Server.DataPort))
        {
            await plain.SendAsync(FakeAgent.Preface(new byte[Wire.OtpBytes]));
            Assert.True(await Tcp.IsClosedByPeerAsync(plain, ClosedWithin));
        }

        // TLS done right, then garbage instead of a preface.
        await using (var data = await FakeAgent.TlsAsync(_tunnel.Server.DataPort))
        {
            await data.WriteAsync(RandomNumberGenerator.GetBytes(Wire.DataPrefaceBytes));
            Assert.True(await FakeAgent.IsClosedAsync(data, ClosedWithin));
        }

        await _tunnel.AssertHealthyAsync();
    }

    [Fact]
    public async Task A_valid_otp_presented_twice_at_once_admits_one_connection()
    {
        var server = _tunnel.Relay.AddServer("twice-at-once");
        await using var agent = await FakeAgent.ConnectAsync(_tunnel.Relay.ControlPort, server, pool: 1);
        byte[] preface = agent.Open(await agent.NextOtpAsync());
        var first = await FakeAgent.TlsAsync(agent.DataPort);
        var second = await FakeAgent.TlsAsync(agent.DataPort);
        await Task.WhenAll(first.WriteAsync(preface).AsTask(), second.WriteAsync(preface).AsTask());

        var closed = await Task.WhenAll(FakeAgent.IsClosedAsync(first, TimeSpan.FromSeconds(3)),
            FakeAgent.IsClosedAsync(second, TimeSpan.FromSeconds(3)));
        Assert.Equal(1, closed.Count(c => c)); // exactly one was refused; the other waits in the pool
        await first.DisposeAsync();
        await second.DisposeAsync();
        await _tunnel.AssertHealthyAsync();
    }

    private static byte[] Length(uint length)
    {
        var header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);
        header[4] = (byte)FrameType.Hello;
        return header;
    }

    private static byte[] Length(int length) => Length((uint)length);

    private static byte[] WithTrailingBytes(byte[] frame)
    {
        byte[] longer = [.. frame, 1, 2, 3];
        BinaryPrimitives.WriteUInt32BigEndian(longer, (uint)(longer.Length - Wire.LengthBytes));
        return longer;
    }

    private static byte[] HugeHello()
    {
        var id = new string('x', 1024 * 1024);
        return ControlFrames.Encode(new Hello(1, 8, false, id)); // its length field is over the limit
    }

    private static byte[] HelloWithBadUtf8()
    {
        byte[] hello = ControlFrames.Encode(new Hello(1, 8, false, "abc"));
        hello[^1] = 0xff;
        return hello;
    }
}
