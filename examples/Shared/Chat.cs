// The chat that the TCP and TLS chat examples share: the server's session, the client, and both console loops.
// TLS changes only how the stream is made (TlsServer handshakes for any session type; ChatClient is given
// TlsClientOptions), so each piece tells TLS apart by its stream being an SslStream.
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Gray.Net;
using Socket = System.Net.Sockets.Socket; // not the whole namespace: its TcpClient would clash with Gray.Net's

/// <summary>One chat client on the server: every line it sends goes to all sessions, prefixed with its id.</summary>
/// <param name="chat">The chat's name in the greeting, e.g. "TCP chat".</param>
internal sealed class ChatSession(TcpServer server, string chat) : TcpSession(server)
{
    private readonly MemoryStream _partialLine = new();

    protected override void OnConnected()
    {
        Console.WriteLine($"#{Id} connected from {RemoteEndPoint}{Chat.Security(Stream)}");
        Send(
            Encoding.UTF8.GetBytes($"Hello from {chat}, you are #{Id}! Please send a message or '!' to disconnect.\n"));
    }

    protected override void OnReceived(ReadOnlySpan<byte> data)
    {
        // TCP (and TLS over it) is a byte stream: cut it into lines, keeping an unfinished one for the next chunk.
        for (int newline; (newline = data.IndexOf((byte)'\n')) >= 0; data = data[(newline + 1)..])
        {
            _partialLine.Write(data[..newline]);
            string text = Encoding.UTF8.GetString(_partialLine.GetBuffer(), 0, (int)_partialLine.Length).TrimEnd('\r');
            _partialLine.SetLength(0);
            Console.WriteLine($"#{Id}: {text}");
            Server.Multicast(Encoding.UTF8.GetBytes($"#{Id}: {text}\n"));
        }

        _partialLine.Write(data);
        if (_partialLine.Length > 64 * 1024) Disconnect(); // a line this long is abuse, not chat
    }

    protected override void OnDisconnected() => Console.WriteLine($"#{Id} disconnected");
}

/// <summary>Prints what the server sends; speaks TLS when given <paramref name="tls"/>.</summary>
internal sealed class ChatClient(EndPoint server, TlsClientOptions? tls, TcpClientOptions options)
    : TcpClient(server, options)
{
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes while a connection is up; a new, pending task after each disconnect.</summary>
    public Task Connected => Volatile.Read(ref _connected).Task;

    /// <summary>Cancelled when the connection ends, so that RunWithReconnectAsync does not reconnect.</summary>
    public CancellationTokenSource? StopOnDisconnect { get; set; }

    protected override ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        tls is null ? base.CreateStreamAsync(transport, cancellationToken)
            : TlsClient.AuthenticateAsync(transport, tls, cancellationToken);

    protected override void OnConnected()
    {
        Console.WriteLine($"Connected to {RemoteEndPoint} from {LocalEndPoint}{Chat.Security(Stream)}");
        _utf8.Reset();
        _connected.TrySetResult();
    }

    protected override void OnReceived(ReadOnlySpan<byte> data)
    {
        // A chunk may end inside a UTF-8 character: the decoder keeps those bytes for the next one.
        char[] text = new char[Encoding.UTF8.GetMaxCharCount(data.Length)];
        Console.Out.Write(text, 0, _utf8.GetChars(data, text, flush: false));
    }

    protected override void OnDisconnected()
    {
        Volatile.Write(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Console.WriteLine("Disconnected");
        StopOnDisconnect?.Cancel();
    }
}

internal static class Chat
{
    /// <summary>" (protocol, cipher suite)" for a TLS stream, else "".</summary>
    public static string Security(Stream stream) =>
        stream is SslStream ssl ? $" ({ssl.SslProtocol}, {ssl.NegotiatedCipherSuite})" : "";

    /// <summary>The server console: a line goes to everyone as "(admin) ...", '!' restarts, an empty line or EOF
    /// stops.</summary>
    public static async Task RunServerConsoleAsync(TcpServer server, CancellationToken stop)
    {
        while (await ConsoleInput.ReadLineAsync(stop) is { Length: > 0 } line)
        {
            if (line == "!")
            {
                Console.WriteLine("Server restarting...");
                await server.RestartAsync();
                Console.WriteLine("Server restarted");
                continue;
            }

            server.Multicast(Encoding.UTF8.GetBytes($"(admin) {line}\n"));
        }

        Console.WriteLine("Server stopping...");
    }

    /// <summary>
    /// The client console: connects with reconnects, sends each line, '!' reconnects, an empty line or EOF
    /// half-closes and quits. Returns the exit code: 1 when the TLS handshake failed (not retried), else 0.
    /// </summary>
    public static async Task<int> RunClientConsoleAsync(ChatClient client, CancellationTokenSource stop)
    {
        Console.WriteLine($"Connecting to {client.Server}... Type a line to send it, '!' to reconnect, an " +
            "empty line or EOF to quit.");
        // A certificate that fails the pin will fail again: stop instead of retrying.
        Task run = client.RunWithReconnectAsync(new BackoffOptions { Maximum = TimeSpan.FromSeconds(5) },
            isFatal: error => error is AuthenticationException, cancellationToken: stop.Token);
        _ = run.ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);

        while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 } line)
        {
            if (line == "!")
            {
                Console.WriteLine("Client disconnecting...");
                await client.FlushAsync(); // send what is queued: Disconnect drops it
                await client.DisconnectAsync(); // RunWithReconnectAsync connects again after its backoff
                continue;
            }

            try
            {
                // a line typed while (re)connecting waits a bit
                await client.Connected.WaitAsync(TimeSpan.FromSeconds(10), stop.Token);
            }
            catch (TimeoutException)
            {
                // still not connected: Send says so below
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (client.Send(Encoding.UTF8.GetBytes(line + "\n")) != SendResult.Queued)
                Console.WriteLine("(not connected; message dropped)");
        }

        // Half-close (a FIN): the server echoes what we sent, then closes;
        // wait a little for that before leaving.
        Console.WriteLine("Client quitting...");
        client.StopOnDisconnect = stop;
        await client.ShutdownSendAsync();
        await Task.WhenAny(client.Completion, Task.Delay(TimeSpan.FromSeconds(2)));
        stop.Cancel();
        try
        {
            await run;
        }
        catch (AuthenticationException error)
        {
            Console.Error.WriteLine($"TLS handshake failed: {error.Message} (wrong --fingerprint?)");
            return 1;
        }

        return 0;
    }
}
