// UDP multicast server: sends each stdin line (or, with --ticks N, a counter once a second) to a multicast group.
using System.Net;
using System.Text;
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();

// By default the group is reached through the loopback interface with TTL 0: nothing leaves this host.
var group = new IPEndPoint(IPAddress.Parse(cli.Get("group", 0, "239.255.0.1")), cli.GetInt("port", 1, 3334));
var localInterface = IPAddress.Parse(cli.Get("interface", -1, "127.0.0.1"));
var options = new UdpOptions
{
    MulticastGroup = group,
    MulticastInterface = localInterface,
    MulticastTimeToLive = cli.GetInt("ttl", -1, 0),
    LoggerFactory = new ConsoleLog(),
};

await using var server = new UdpServer(new IPEndPoint(localInterface, 0), options);
server.Start();
Console.WriteLine($"UDP multicast server {server.EndPoint} -> group {group} via {localInterface}, TTL " +
    $"{options.MulticastTimeToLive}.");

if (cli.GetInt("ticks", -1, 0) is > 0 and int ticks)
{
    // A counter, once a second; stdin is not read in this mode.
    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
    try
    {
        for (int tick = 1; tick <= ticks; tick++)
        {
            Send($"tick {tick}");
            if (tick < ticks) await timer.WaitForNextTickAsync(stop.Token);
        }
    }
    catch (OperationCanceledException)
    {
        // Ctrl+C
    }
}
else
{
    Console.WriteLine("Type a line to multicast it, an empty line or EOF to stop.");
    while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 } line) Send(line);
}

Console.WriteLine($"Server stopping after {server.DatagramsSent} datagrams.");

void Send(string text)
{
    Console.WriteLine(server.Multicast(Encoding.UTF8.GetBytes(text)) ? $"sent: {text}" : $"dropped: {text}");
}
