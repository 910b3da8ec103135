// TCP chat client: sends each stdin line to the chat server and prints everything the server multicasts.
using System.Net;
using System.Text;
using Gray.Net;

var cli = new Args(args);
var logging = new ConsoleLog();
using var stop = ConsoleInput.CancelOnCtrlC();

var client = new ChatClient(cli.EndPoint("127.0.0.1", 1111), new TcpClientOptions { LoggerFactory = logging });
Console.WriteLine($"Connecting to {client.Server}... Type a line to send it, '!' to reconnect, an empty line or EOF to quit.");
Task run = client.RunWithReconnectAsync(new BackoffOptions { Maximum = TimeSpan.FromSeconds(5) }, cancellationToken: stop.Token);

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

// Half-close: the server echoes what we sent, then closes; wait a little for that before leaving.
Console.WriteLine("Client quitting...");
client.StopOnDisconnect = stop;
await client.ShutdownSendAsync();
await Task.WhenAny(client.Completion, Task.Delay(TimeSpan.FromSeconds(2)));
stop.Cancel();
await run;

internal sealed class ChatClient(EndPoint server, TcpClientOptions options) : TcpClient(server, options)
{
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes while a connection is up; a new, pending task after each disconnect.</summary>
    public Task Connected => Volatile.Read(ref _connected).Task;

    /// <summary>Cancelled when the connection ends, so that RunWithReconnectAsync does not reconnect.</summary>
    public CancellationTokenSource? StopOnDisconnect { get; set; }

    protected override void OnConnected()
    {
        Console.WriteLine($"Connected to {RemoteEndPoint} from {LocalEndPoint}");
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
