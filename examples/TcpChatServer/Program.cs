// TCP chat server: every line a client sends goes to all clients, prefixed with the sender's session id.
using System.Net;
using System.Text;
using Gray.Net;

var cli = new Args(args);
var logging = new ConsoleLog();
using var stop = ConsoleInput.CancelOnCtrlC();

await using var server = new ChatServer(cli.EndPoint("127.0.0.1", 1111), new TcpServerOptions { LoggerFactory = logging });
server.Start();
Console.WriteLine($"TCP chat server on {server.EndPoint}. Type a line to send it to everyone, '!' to restart, an empty line or EOF to stop.");

while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 } line)
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

internal sealed class ChatServer(IPEndPoint endPoint, TcpServerOptions options) : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new ChatSession(this);
}

internal sealed class ChatSession(TcpServer server) : TcpSession(server)
{
    private readonly MemoryStream _partialLine = new();

    protected override void OnConnected()
    {
        Console.WriteLine($"#{Id} connected from {RemoteEndPoint}");
        Send(Encoding.UTF8.GetBytes($"Hello from TCP chat, you are #{Id}! Please send a message or '!' to disconnect.\n"));
    }

    protected override void OnReceived(ReadOnlySpan<byte> data)
    {
        // TCP is a byte stream: cut it into lines, keeping an unfinished one for the next chunk.
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
