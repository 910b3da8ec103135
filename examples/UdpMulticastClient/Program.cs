// UDP multicast client: joins a multicast group and prints every datagram that arrives, until EOF on stdin.
using System.Net;
using System.Text;
using Gray.Net;

var cli = new Args(args);
using var stop = ConsoleInput.CancelOnCtrlC();

var group = IPAddress.Parse(cli.Get("group", 0, "239.255.0.1"));
var localInterface = IPAddress.Parse(cli.Get("interface", -1, "127.0.0.1"));
var options = new UdpOptions
{
    // Bind the group's port on every address; ReuseAddress lets several receivers on this host share it.
    LocalEndPoint = new IPEndPoint(
        group.IsIPv6Multicast ? IPAddress.IPv6Any : IPAddress.Any, cli.GetInt("port", 1, 3334)),
    ReuseAddress = true,
    LoggerFactory = new ConsoleLog(),
};

await using var client = new MulticastReceiver(options);
client.Start();
client.JoinMulticastGroup(group, localInterface);
Console.WriteLine(
    $"Joined {group} on {localInterface}, listening on {client.LocalEndPoint}. An empty line or EOF quits.");

while (await ConsoleInput.ReadLineAsync(stop.Token) is { Length: > 0 })
{
}

client.LeaveMulticastGroup(group, localInterface);
Console.WriteLine($"Client quitting after {client.DatagramsReceived} datagrams.");

internal sealed class MulticastReceiver(UdpOptions options) : UdpClient(server: null, options)
{
    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram) =>
        Console.WriteLine($"{remote}: {Encoding.UTF8.GetString(datagram)}");
}
