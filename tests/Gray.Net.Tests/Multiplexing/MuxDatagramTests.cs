using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Net.Multiplexing;

namespace Gray.Net.Tests.Multiplexing;

/// <summary>Datagrams over channels: boundaries kept at every size, and a flow whose reader stops dropping
/// (and counting) at its window while another flow on the same connection goes on.</summary>
public class MuxDatagramTests
{
    [Fact]
    public async Task Datagrams_of_every_size_arrive_whole_and_in_order()
    {
        await using var pair = await Pair.StartAsync();
        var sender = new MuxDatagramChannel(pair.Opener.TryOpen([1])!);
        var receiver = new MuxDatagramChannel(await pair.AcceptAsync());
        var buffer = new byte[MuxDatagramChannel.MaxDatagramBytes];
        foreach (int size in new[] { 0, 1, 1400, MuxOptions.ChunkBytes + 7, 65507, 3 })
        {
            byte[] datagram = RandomNumberGenerator.GetBytes(size);
            Assert.True(sender.TrySend(datagram), $"a datagram of {size} bytes found no room");
            int length = await receiver.ReceiveAsync(buffer).AsTask().WaitAsync(Loopback.Deadline);
            Assert.Equal(datagram, buffer[..length]);
        }

        sender.Channel.Abort();
        await Assert.ThrowsAsync<MuxChannelResetException>(() => receiver.ReceiveAsync(buffer).AsTask());
    }

    [Fact]
    public async Task A_flow_whose_reader_stops_drops_at_its_window_and_another_flow_goes_on()
    {
        await using var pair = await Pair.StartAsync();
        var stuck = new MuxDatagramChannel(pair.Opener.TryOpen([1])!);
        await pair.AcceptAsync(); // never read
        byte[] datagram = new byte[1000];
        int sent = 0;
        while (sent < 1000 && stuck.TrySend(datagram)) sent++;
        Assert.InRange(sent, 1, MuxOptions.InitialWindowBytes / datagram.Length); // bounded by the window
        Assert.False(stuck.TrySend(datagram));
        Assert.Equal(2, stuck.Dropped); // the one that stopped the loop, and this one

        var other = new MuxDatagramChannel(pair.Opener.TryOpen([2])!);
        var receiver = new MuxDatagramChannel(await pair.AcceptAsync());
        var buffer = new byte[MuxDatagramChannel.MaxDatagramBytes];
        for (int i = 0; i < 200; i++) // many windows' worth: its credit comes back as it is read
        {
            Assert.True(other.TrySend(datagram));
            Assert.Equal(datagram.Length, await receiver.ReceiveAsync(buffer).AsTask().WaitAsync(Loopback.Deadline));
        }
    }

    private sealed class Pair : IAsyncDisposable
    {
        private readonly BlockingCollection<MuxChannel> _accepted = new();
        private readonly TaskCompletionSource _done = new();
        private Task _runs = Task.CompletedTask;

        public MuxConnection Opener { get; private set; } = null!;

        private MuxConnection Acceptor { get; set; } = null!;

        public static async Task<Pair> StartAsync()
        {
            var pair = new Pair();
            var (a, b) = await MuxTunnel.SocketPairAsync();
            pair.Opener = new MuxConnection(new NetworkStream(a, ownsSocket: true), opens: true);
            pair.Acceptor = new MuxConnection(new NetworkStream(b, ownsSocket: true), opens: false, null,
                (channel, _) =>
                {
                    pair._accepted.Add(channel);
                    return pair._done.Task;
                });
            pair._runs = Task.WhenAll(pair.Opener.RunAsync(CancellationToken.None),
                pair.Acceptor.RunAsync(CancellationToken.None));
            return pair;
        }

        public Task<MuxChannel> AcceptAsync() =>
            Task.Run(() => _accepted.Take(new CancellationTokenSource(Loopback.Deadline).Token));

        public async ValueTask DisposeAsync()
        {
            _done.TrySetResult();
            Opener.Close();
            Acceptor.Close();
            await _runs.WaitAsync(Loopback.Deadline);
        }
    }
}
