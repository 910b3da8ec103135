// TLS chat client: the TCP chat client over TLS, pinning the server's certificate by its SHA-256 fingerprint.
using System.Net;
using System.Security.Authentication;
using System.Text;
using Gray.Net;

var cli = new Args(args);
var logging = new ConsoleLog();
using var stop = ConsoleInput.CancelOnCtrlC();

var tls = new TlsClientOptions { TargetHost = cli.Get("host", -1, "localhost") };
if (cli.Get("fingerprint") is { } fingerprint)
{
    tls.ServerCertificateValidation = Certificates.PinSha256(fingerprint);
}
else
{
    Console.WriteLine("WARNING: no --fingerprint given, so ANY server certificate is accepted. Fine for this example only.");
    tls.ServerCertificateValidation = (_, _, _, _) => true;
}

var client = new ChatClient(cli.EndPoint("127.0.0.1", 2222), tls, new TcpClientOptions { LoggerFactory = logging });
Console.WriteLine($"Connecting to {client.Server}... Type a line to send it, '!' to reconnect, an empty line or EOF to quit.");
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
        await client.Connected.WaitAsync(TimeSpan.FromSeconds(10), stop.Token); // a line typed while (re)connecting waits a bit
    }
    catch (TimeoutException)
    {
        // still not connected: Send says so below
    }
    catch (OperationCanceledException)
    {
        break;
    }

    if (client.Send(Encoding.UTF8.GetBytes(line + "\n")) != SendResult.Queued) Console.WriteLine("(not connected; message dropped)");
}

// Half-close (close_notify, then FIN): the server echoes what we sent, then closes; wait a little for that.
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

internal sealed class ChatClient(EndPoint server, TlsClientOptions tls, TcpClientOptions options) : TlsClient(server, tls, options)
{
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes while a connection is up; a new, pending task after each disconnect.</summary>
    public Task Connected => Volatile.Read(ref _connected).Task;

    /// <summary>Cancelled when the connection ends, so that RunWithReconnectAsync does not reconnect.</summary>
    public CancellationTokenSource? StopOnDisconnect { get; set; }

    protected override void OnConnected()
    {
        Console.WriteLine($"Connected to {RemoteEndPoint} from {LocalEndPoint} ({SslStream.SslProtocol}, {SslStream.NegotiatedCipherSuite})");
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
