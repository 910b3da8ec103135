// UDP echo client: sends each stdin line as one datagram and prints the echo (or says it got none).
using System.Net;
using System.Text;
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();
TimeSpan patience = TimeSpan.FromSeconds(1);

await using var client = new EchoClient(
    cli.EndPoint("127.0.0.1", 3333), new UdpOptions { LoggerFactory = new ConsoleLog() });
client.Start();
Console.WriteLine($"UDP echo client {client.LocalEndPoint} -> {client.Server}. Type a line to send it, an " +
    "empty line or EOF to quit.");

while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 } line)
{
    // UDP may lose a datagram, and a closed port answers with nothing: wait a moment, not forever.
    if (!client.Send(Encoding.UTF8.GetBytes(line)))
        Console.WriteLine("(not sent: socket buffer full, or nobody listening)");
    else if (!await client.Echoes.WaitAsync(patience))
        Console.WriteLine($"(no echo within {patience.TotalSeconds:0.#} s)");
}

Console.WriteLine($"Client quitting after {client.DatagramsSent} datagrams out, {client.DatagramsReceived} in.");

internal sealed class EchoClient(IPEndPoint server, UdpOptions options) : UdpClient(server, options)
{
    public SemaphoreSlim Echoes { get; } = new(0);

    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
        Console.WriteLine($"echo from {remote}: {Encoding.UTF8.GetString(datagram)}");
        Echoes.Release();
    }
}
