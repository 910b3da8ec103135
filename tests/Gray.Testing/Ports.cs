// Loopback ports for tests and benchmarks, found free when asked: no fixed blocks, so two runs (or a
// run beside CI) do not collide. Blocks handed out in this process are remembered and not given twice.
using System.Net;
using System.Net.Sockets;

namespace Gray.Testing;

public static class Ports
{
    /// <summary>Where blocks are looked for: below Linux's ephemeral range (32768-60999), so the kernel's own choices
    /// do not land in them.</summary>
    private const int BlockRangeLow = 22000, BlockRangeHigh = 32000;

    private static readonly object s_gate = new();
    private static readonly HashSet<int> s_handedOut = [];

    /// <summary>A port nothing listens on now (the kernel's choice; it may be taken again, rarely).</summary>
    public static int Free()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>The first of <paramref name="count"/> consecutive ports that are free now and not yet handed out
    /// here.</summary>
    public static int FreeBlock(int count)
    {
        int slots = (BlockRangeHigh - BlockRangeLow) / count;
        int first = Random.Shared.Next(slots);
        lock (s_gate)
        {
            for (int i = 0; i < slots; i++)
            {
                int start = BlockRangeLow + (first + i) % slots * count;
                if (s_handedOut.Contains(start) || !Enumerable.Range(start, count).All(IsFree)) continue;
                s_handedOut.Add(start);
                return start;
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free ports in {BlockRangeLow}-{BlockRangeHigh}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
