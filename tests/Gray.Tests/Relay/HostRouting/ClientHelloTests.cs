// The TLS entry point's reading of a ClientHello, on hellos that .NET's own TLS client sends: whole,
// cut anywhere, split into many records, without a name, and not TLS at all.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Gray.Relay.HostRouting;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.HostRouting;

public class ClientHelloTests
{
    /// <summary>The first flight of a real TLS client asking for <paramref name="targetHost"/>.</summary>
    internal static async Task<byte[]> CaptureHelloAsync(string targetHost)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var accepted = await listener.AcceptAsync();
        using var tls = new SslStream(new NetworkStream(client), false, (_, _, _, _) => true);
        using var cancel = new CancellationTokenSource();
        var handshake = tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = targetHost },
            cancel.Token);
        var received = new List<byte>();
        var buffer = new byte[64 * 1024];
        while (ClientHello.TryRead(received.ToArray(), out _) == ClientHelloStatus.NeedMore)
        {
            int n = await accepted.ReceiveAsync(buffer).WaitAsync(Tcp.Deadline);
            Assert.True(n > 0, "the client closed before its hello was whole");
            received.AddRange(buffer.AsSpan(0, n));
        }

        client.Close(); // ends the handshake that nobody answers
        await Assert.ThrowsAnyAsync<Exception>(() => handshake);
        return [.. received];
    }

    [Fact]
    public async Task A_whole_hello_gives_its_name_and_every_shorter_prefix_asks_for_more()
    {
        byte[] hello = await CaptureHelloAsync("App.Example.org");
        Assert.Equal(ClientHelloStatus.Complete, ClientHello.TryRead(hello, out string? name));
        Assert.Equal("app.example.org", name);
        for (int length = 0; length < hello.Length; length++)
        {
            Assert.Equal(ClientHelloStatus.NeedMore, ClientHello.TryRead(hello.AsSpan(0, length), out _));
        }
    }

    [Fact]
    public async Task A_hello_split_into_many_records_is_joined()
    {
        byte[] hello = await CaptureHelloAsync("split.example.org");
        byte[] handshake = hello[5..]; // one record: header, then the handshake message
        var records = new List<byte>();
        for (int at = 0; at < handshake.Length; at += 37)
        {
            int length = Math.Min(37, handshake.Length - at);
            records.AddRange([22, 3, 1, (byte)(length >> 8), (byte)length]);
            records.AddRange(handshake.AsSpan(at, length));
        }

        Assert.Equal(ClientHelloStatus.Complete, ClientHello.TryRead(records.ToArray(), out string? name));
        Assert.Equal("split.example.org", name);
        Assert.Equal(ClientHelloStatus.NeedMore, ClientHello.TryRead(records.ToArray().AsSpan(0, records.Count - 1),
            out _));
    }

    [Fact]
    public async Task A_hello_without_a_name_is_complete_and_names_none()
    {
        byte[] hello = await CaptureHelloAsync("127.0.0.1"); // clients send no SNI for an address
        Assert.Equal(ClientHelloStatus.Complete, ClientHello.TryRead(hello, out string? name));
        Assert.Null(name);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: app.example.org\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n")]
    public void What_is_not_tls_is_invalid_at_once(string text) =>
        Assert.Equal(ClientHelloStatus.Invalid, ClientHello.TryRead(System.Text.Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public async Task A_corrupt_or_oversized_hello_is_invalid()
    {
        byte[] hello = await CaptureHelloAsync("app.example.org");
        byte[] wrongType = [.. hello];
        wrongType[5] = 2; // a ServerHello
        Assert.Equal(ClientHelloStatus.Invalid, ClientHello.TryRead(wrongType, out _));
        byte[] huge = [22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00]; // a hello that says it has 64 KiB
        Assert.Equal(ClientHelloStatus.Invalid, ClientHello.TryRead(huge, out _));
        byte[] truncatedBody = [.. hello];
        truncatedBody[3] = 0; truncatedBody[4] = 10; // a record of 10 bytes, the message claims more
        Assert.NotEqual(ClientHelloStatus.Complete, ClientHello.TryRead(truncatedBody.AsSpan(0, 15), out _));
    }
}
