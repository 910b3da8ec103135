// UdpPeer's multicast: joining and leaving groups (IPv4 and IPv6, by interface), hearing only the
// groups this socket joined, and the sending interface and TTL for a group.
using System.Net;
using System.Net.Sockets;

namespace Gray.Net;

public abstract partial class UdpPeer
{
    private void SetMembership(SocketOptionName change, IPAddress group, IPAddress? localInterface)
    {
        if (group.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Socket.SetSocketOption(SocketOptionLevel.IPv6, change,
                new IPv6MulticastOption(group, InterfaceIndex(localInterface)));
        }
        else
        {
            Socket.SetSocketOption(SocketOptionLevel.IP, change,
                new MulticastOption(group, localInterface ?? IPAddress.Any));
        }
    }

    // IPv6 names interfaces by index: find the one that owns the given address (0 = let the system choose).
    private static int InterfaceIndex(IPAddress? localInterface)
    {
        if (localInterface is null || localInterface.Equals(IPAddress.IPv6Any)) return 0;
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            var properties = nic.GetIPProperties();
            if (properties.UnicastAddresses.Any(a => a.Address.Equals(localInterface)))
            {
                return properties.GetIPv6Properties()?.Index ?? 0;
            }
        }

        throw new ArgumentException($"No interface has the address {localInterface}.", nameof(localInterface));
    }

    // Linux delivers a group's datagrams to every socket on the port once any socket joins it
    // (IP_MULTICAST_ALL = 1); turn that off so that a socket hears only the groups it joined.
    private static void ReceiveOnlyJoinedGroups(Socket socket)
    {
        const int IpProtocolLevel = 0, IpMulticastAll = 49;
        if (OperatingSystem.IsLinux() && socket.AddressFamily == AddressFamily.InterNetwork)
        {
            socket.SetRawSocketOption(IpProtocolLevel, IpMulticastAll, [0, 0, 0, 0]);
        }
    }

    private void ConfigureMulticastSending(Socket socket)
    {
        if (socket.AddressFamily == AddressFamily.InterNetwork)
        {
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive,
                Options.MulticastTimeToLive);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, Options.MulticastLoopback);
            if (Options.MulticastInterface is { } address)
            {
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface,
                    address.GetAddressBytes());
            }
        }
        else
        {
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive,
                Options.MulticastTimeToLive);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastLoopback,
                Options.MulticastLoopback);
            if (Options.MulticastInterface is { } address)
            {
                socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface,
                    InterfaceIndex(address));
            }
        }
    }
}
