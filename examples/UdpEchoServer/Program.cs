// UDP echo server: sends every datagram straight back to whoever sent it.
using System.Net;
using System.Text;
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();

await using var server = new EchoServer(
    cli.EndPoint("127.0.0.1", 3333), new UdpOptions { LoggerFactory = new ConsoleLog() });
server.Start();
Console.WriteLine($"UDP echo server on {server.EndPoint}. Type '!' to restart, an empty line or EOF to stop.");

while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 } line)
{
    if (line != "!") continue;
    Console.WriteLine("Server restarting...");
    await server.RestartAsync();
    Console.WriteLine("Server restarted");
}

Console.WriteLine($"Server stopping after {server.DatagramsReceived} datagrams in, {server.DatagramsSent} out.");

internal sealed class EchoServer(IPEndPoint endPoint, UdpOptions options) : UdpServer(endPoint, options)
{
    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
        Console.WriteLine($"{remote}: {Encoding.UTF8.GetString(datagram)}");
        if (!SendTo(remote, datagram)) Console.WriteLine("(echo dropped: socket buffer full)");
    }
}
