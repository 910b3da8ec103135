using System.Net;
using System.Security.Cryptography;

namespace Gray.Net.Tests;

/// <summary>In-process connections: bounded pipes both ways, half-close and abort as a socket's, and a
/// port-less server that serves them with its usual sessions.</summary>
public class InProcessTransportTests
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("192.0.2.7"), 40000);

    [Fact]
    public async Task Bytes_go_both_ways_and_a_half_close_ends_one_direction_only()
    {
        var (near, far) = InProcessTransport.Create(Client, Loopback.AnyPort, tag: "web");
        Assert.Equal("web", far.Tag);
        Assert.Equal(Client, far.RemoteEndPoint);
        await near.WriteAsync("hello"u8.ToArray());
        Assert.Equal("hello"u8.ToArray(), await Loopback.ReadExactlyAsync(far.Stream, 5));

        await far.ShutdownSendAsync(CancellationToken.None);
        Assert.Equal(0, await near.ReadAsync(new byte[10]).AsTask().WaitAsync(Loopback.Deadline));
        await near.WriteAsync("still"u8.ToArray()); // the other way goes on
        Assert.Equal("still"u8.ToArray(), await Loopback.ReadExactlyAsync(far.Stream, 5));
    }

    [Fact]
    public async Task A_writer_waits_once_a_pipe_holds_its_bound_and_goes_on_when_the_reader_reads()
    {
        var (near, far) = InProcessTransport.Create(Client, Loopback.AnyPort);
        byte[] payload = RandomNumberGenerator.GetBytes(4 * InProcessTransport.PipeBytes);
        var writing = near.WriteAsync(payload).AsTask();
        await Task.Yield();
        Assert.False(writing.IsCompleted, "nobody reads: the writer must wait, not buffer it all");
        Assert.Equal(payload, await Loopback.ReadExactlyAsync(far.Stream, payload.Length));
        await writing.WaitAsync(Loopback.Deadline);
    }

    [Fact]
    public async Task An_abort_fails_the_other_ends_reads_and_writes()
    {
        var (near, far) = InProcessTransport.Create(Client, Loopback.AnyPort);
        var reading = near.ReadAsync(new byte[10]).AsTask();
        far.Abort();
        await Assert.ThrowsAsync<IOException>(() => reading.WaitAsync(Loopback.Deadline));
        await Assert.ThrowsAsync<IOException>(async () => await near.WriteAsync(new byte[10]));
    }

    [Fact]
    public async Task A_server_without_a_port_serves_in_process_connections_with_its_sessions()
    {
        await using var server = new PullEchoServer(Loopback.AnyPort);
        var (near, far) = InProcessTransport.Create(Client, Loopback.AnyPort);
        var refused = server.AcceptAsync(far); // not started: refused, the transport aborted
        await refused.WaitAsync(Loopback.Deadline);
        await Assert.ThrowsAsync<IOException>(async () => await near.ReadAsync(new byte[1]));

        server.StartWithoutPort();
        (near, far) = InProcessTransport.Create(Client, Loopback.AnyPort);
        var serving = server.AcceptAsync(far);
        byte[] payload = RandomNumberGenerator.GetBytes(300_000);
        var sending = near.WriteAsync(payload).AsTask();
        Assert.Equal(payload, await Loopback.ReadExactlyAsync(near, payload.Length));
        await sending;
        Assert.Equal(1, server.SessionCount);
        near.Dispose(); // the client goes: the session ends
        await serving.WaitAsync(Loopback.Deadline);
        await server.StopAsync();
        Assert.Equal(0, server.SessionCount);
    }
}
