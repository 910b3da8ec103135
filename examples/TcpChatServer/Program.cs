// TCP chat server: every line a client sends goes to all clients, prefixed with the sender's session id.
using System.Net;
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();

await using var server = new ChatServer(
    cli.EndPoint("127.0.0.1", 1111), new TcpServerOptions { LoggerFactory = new ConsoleLog() });
server.Start();
Console.WriteLine($"TCP chat server on {server.EndPoint}. Type a line to send it to everyone, '!' to restart, an " +
    "empty line or EOF to stop.");
await Chat.RunServerConsoleAsync(server, stop.Token);

internal sealed class ChatServer(IPEndPoint endPoint, TcpServerOptions options) : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new ChatSession(this, "TCP chat");
}
