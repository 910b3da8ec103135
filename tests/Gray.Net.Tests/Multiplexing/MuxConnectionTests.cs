using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Net.Multiplexing;
using Microsoft.Extensions.Time.Testing;

namespace Gray.Net.Tests.Multiplexing;

public class MuxConnectionTests
{
    private const byte Open = 1, Data = 2, Window = 3, Fin = 4, Reset = 5;

    [Fact]
    public async Task Channels_carry_bytes_both_ways_in_order_and_forward_half_close()
    {
        await using var backend = new PullEchoServer(Loopback.AnyPort);
        backend.Start();
        await using var tunnel = await MuxTunnel.StartAsync(backend.EndPoint);
        const int clients = 20, size = 1024 * 1024;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            byte[] payload = RandomNumberGenerator.GetBytes(size);
            using var client = await Loopback.ConnectAsync(tunnel.EndPoint);
            var sending = Task.Run(async () =>
            {
                await client.SendAsync(payload);
                client.Shutdown(SocketShutdown.Send);
            });
            using var stream = new NetworkStream(client);
            byte[] echoed = await Loopback.ReadExactlyAsync(stream, size);
            await sending;
            Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
            Assert.True(await Loopback.IsClosedByPeerAsync(client)); // the backend's FIN came back as FIN
        }));

        for (int i = 0; i < clients; i++)
        {
            Assert.True(tunnel.Results.TryTake(out var result, Loopback.Deadline));
            Assert.Equal((size, size, SpliceEnd.Completed), (result.BytesAToB, result.BytesBToA, result.End));
        }

        await Wait.UntilAsync(
            () => tunnel.Opener.ChannelCount == 0 && tunnel.Acceptor.ChannelCount == 0, "finished channels removed");
    }

    [Fact]
    public async Task A_client_that_stops_reading_does_not_stall_the_other_channels_and_loses_nothing()
    {
        await using var backend = new PullEchoServer(Loopback.AnyPort);
        backend.Start();
        await using var tunnel = await MuxTunnel.StartAsync(backend.EndPoint);

        // More than every socket buffer and window on the way can hold: its sender must end up waiting.
        byte[] flood = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
        using var stalled = new Socket(
            AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        await stalled.ConnectAsync(tunnel.EndPoint);
        var flooding = Task.Run(async () => await stalled.SendAsync(flood));

        using var other = await Loopback.ConnectAsync(tunnel.EndPoint);
        for (int i = 0; i < 50; i++) await TcpServerTests.AssertEchoAsync(other);
        Assert.False(flooding.IsCompleted, "the flood should still be waiting for the stalled client to read");

        using var stream = new NetworkStream(stalled);
        byte[] echoed = await Loopback.ReadExactlyAsync(stream, flood.Length);
        await flooding.WaitAsync(Loopback.Deadline);
        Assert.Equal(SHA256.HashData(flood), SHA256.HashData(echoed));
    }

    [Fact]
    public async Task A_fast_channel_grows_its_window_and_gives_the_growth_back_when_it_ends()
    {
        await using var backend = new PullEchoServer(Loopback.AnyPort);
        backend.Start();
        var options = new MuxOptions(); // both sides share its budget, as one process's connections do
        await using var tunnel = await MuxTunnel.StartAsync(backend.EndPoint, options);
        using var client = await Loopback.ConnectAsync(tunnel.EndPoint);
        byte[] payload = RandomNumberGenerator.GetBytes(32 * 1024 * 1024);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(payload);
            client.Shutdown(SocketShutdown.Send);
        });
        byte[] echoed = await Loopback.ReadExactlyAsync(new NetworkStream(client), payload.Length);
        await sending;
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
        Assert.True(tunnel.Accepted.TryTake(out var channel, Loopback.Deadline));
        Assert.InRange(channel.ReceiveWindow, 2 * MuxOptions.InitialWindowBytes, MuxOptions.MaxWindowBytes);
        Assert.True(tunnel.Results.TryTake(out _, Loopback.Deadline));
        await Wait.UntilAsync(() => options.WindowBudget.GrownBytes == 0, "the window growth returned");
    }

    [Fact]
    public async Task A_refused_backend_resets_its_channel_and_closes_the_client()
    {
        var nobody = new IPEndPoint(IPAddress.Loopback, Ports.Free());
        await using var tunnel = await MuxTunnel.StartAsync(nobody);
        using var client = await Loopback.ConnectAsync(tunnel.EndPoint);
        await client.SendAsync(new byte[10]);
        Assert.True(await Loopback.IsClosedByPeerAsync(client));
        Assert.True(tunnel.Results.TryTake(out var result, Loopback.Deadline));
        Assert.Equal(SpliceEnd.BFailed, result.End); // the channel's side: its backend refused
        Assert.True(tunnel.Opener.IsAvailable); // the connection itself carries on
    }

    [Fact]
    public async Task An_idle_channel_is_reset_after_the_idle_timeout()
    {
        await using var backend = new PullEchoServer(Loopback.AnyPort);
        backend.Start();
        var idle = TimeSpan.FromSeconds(60);
        var time = new FakeTimeProvider();
        await using var tunnel = await MuxTunnel.StartAsync(backend.EndPoint, idleTimeout: idle, time: time);
        using var client = await Loopback.ConnectAsync(tunnel.EndPoint);
        await TcpServerTests.AssertEchoAsync(client);

        // The clock moves in quarters of the timeout (the watchdog's period) until the splice ends.
        var step = idle / 4;
        var quiet = TimeSpan.Zero;
        SpliceResult? result = null;
        while (result is null && quiet < 4 * idle)
        {
            time.Advance(step);
            quiet += step;
            await Task.Delay(50);
            if (tunnel.Results.TryTake(out var taken)) result = taken;
        }

        Assert.InRange(quiet, idle, idle + 2 * step); // not before the timeout, and soon after it
        Assert.Equal(SpliceEnd.IdleTimeout, result?.End);
        Assert.True(await Loopback.IsClosedByPeerAsync(client));
        await Wait.UntilAsync(() => tunnel.Acceptor.ChannelCount == 0, "the peer's channel reset too");
    }

    [Fact]
    public async Task The_open_frame_on_the_wire_is_as_specified()
    {
        var (a, b) = await MuxTunnel.SocketPairAsync();
        using var raw = b;
        var opener = new MuxConnection(new NetworkStream(a, ownsSocket: true), opens: true);
        var running = opener.RunAsync(CancellationToken.None);
        Assert.Equal(1u, opener.TryOpen([0xAB, 0xCD])!.Id);
        byte[] frame = await Loopback.ReadExactlyAsync(new NetworkStream(raw), 10);
        Assert.Equal(new byte[] { Open, 0, 0, 2, 0, 0, 0, 1, 0xAB, 0xCD }, frame);
        opener.Close();
        await running.WaitAsync(Loopback.Deadline);
    }

    public static TheoryData<string, byte[]> Violations() => new()
    {
        { "unknown type", Frame(9, 1, []) },
        { "reserved byte", [Data, 1, 0, 1, 0, 0, 0, 1, 0] },
        { "oversized data", Frame(Open, 1, [1], Frame(Data, 1, new byte[MuxOptions.MaxPayloadBytes + 1])) },
        { "empty open", Frame(Open, 1, []) },
        { "short window", Frame(Open, 1, [1], Frame(Window, 1, [0, 0, 1])) },
        { "channel zero", Frame(Open, 0, [1]) },
        { "duplicate open", Frame(Open, 1, [1], Frame(Open, 1, [1])) },
        { "data after fin", Frame(Open, 1, [1], Frame(Fin, 1, [], Frame(Data, 1, [1]))) },
        { "second fin", Frame(Open, 1, [1], Frame(Fin, 1, [], Frame(Fin, 1, []))) },
        { "window overrun", Frame(Open, 1, [1], OverWindow(1)) },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task A_peer_that_breaks_the_protocol_fails_the_connection(string what, byte[] bytes)
    {
        var (a, b) = await MuxTunnel.SocketPairAsync();
        using var raw = a;
        // The accepting side never attaches its channels, so received bytes stay queued against the window.
        var acceptor = new MuxConnection(
            new NetworkStream(b, ownsSocket: true), opens: false, accept: (_, _) => Task.CompletedTask);
        var running = acceptor.RunAsync(CancellationToken.None);
        await raw.SendAsync(bytes);
        var error = await Assert.ThrowsAsync<ProtocolException>(() => running.WaitAsync(Loopback.Deadline));
        Assert.False(string.IsNullOrEmpty(error.Message), what);
        Assert.Equal(0, acceptor.ChannelCount);
    }

    [Fact]
    public async Task An_open_sent_to_the_opening_side_or_too_much_credit_fails_the_connection()
    {
        var beyondMaxWindow = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(
            beyondMaxWindow, MuxOptions.MaxWindowBytes - MuxOptions.InitialWindowBytes + 1);
        foreach (var bytes in new[] { Frame(Open, 7, [1]), Frame(Window, 1, beyondMaxWindow) })
        {
            var (a, b) = await MuxTunnel.SocketPairAsync();
            using var raw = b;
            var opener = new MuxConnection(new NetworkStream(a, ownsSocket: true), opens: true);
            var running = opener.RunAsync(CancellationToken.None);
            // channel 1, full initial credit: the grant takes it past the largest window
            Assert.NotNull(opener.TryOpen([1]));
            await raw.SendAsync(bytes);
            await Assert.ThrowsAsync<ProtocolException>(() => running.WaitAsync(Loopback.Deadline));
        }
    }

    [Fact]
    public async Task Opens_beyond_the_channel_limit_are_reset_and_frames_for_unknown_channels_are_dropped()
    {
        var (a, b) = await MuxTunnel.SocketPairAsync();
        using var raw = a;
        var acceptor = new MuxConnection(
            new NetworkStream(b, ownsSocket: true), opens: false, new MuxOptions { MaxChannels = 1 },
            (_, _) => Task.CompletedTask);
        var running = acceptor.RunAsync(CancellationToken.None);
        await raw.SendAsync(Frame(Open, 1, [1], Frame(Data, 99, [1, 2, 3], Frame(Open, 2, [1]))));
        byte[] reply = await Loopback.ReadExactlyAsync(new NetworkStream(raw), 8);
        Assert.Equal(new byte[] { Reset, 0, 0, 0, 0, 0, 0, 2 }, reply);
        Assert.Equal(1, acceptor.ChannelCount);
        Assert.False(running.IsCompleted);
        acceptor.Close();
        await running.WaitAsync(Loopback.Deadline);
    }

    // One frame, followed by the bytes of more frames.
    private static byte[] Frame(byte type, uint channel, byte[] payload, byte[]? then = null)
    {
        var frame = new byte[8 + payload.Length];
        frame[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), channel);
        payload.CopyTo(frame, 8);
        return [.. frame, .. then ?? []];
    }

    // One byte more data than the default window, in full frames.
    private static byte[] OverWindow(uint channel)
    {
        var bytes = new List<byte>();
        int left = MuxOptions.InitialWindowBytes + 1;
        while (left > 0)
        {
            int size = Math.Min(left, MuxOptions.MaxPayloadBytes);
            bytes.AddRange(Frame(Data, channel, new byte[size]));
            left -= size;
        }

        return [.. bytes];
    }
}
