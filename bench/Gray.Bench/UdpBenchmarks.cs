// Echo and multicast over UDP on loopback: one datagram is one message.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Gray.Net;
using UdpClient = Gray.Net.UdpClient;

namespace Gray.Bench;

/// <summary>Sends every datagram back to where it came from.</summary>
internal sealed class UdpEchoServer(IPEndPoint endPoint, UdpOptions options, Shared shared)
    : UdpServer(endPoint, options)
{
    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram) => SendTo(remote, datagram);

    protected override void OnError(Exception error) => shared.Error(error);
}

/// <summary>
/// Keeps MESSAGES datagrams in flight. UDP may lose a datagram (a full socket buffer drops it
/// silently), which would shrink the window for good, so:
/// <list type="bullet">
/// <item>with SIZE &gt;= 8 each datagram carries a sequence number; a gap in the echoed numbers is a
/// detected loss: it counts as an error and is replaced at once (loopback keeps order);</item>
/// <item>a send the kernel refuses (full send buffer) is retried on the next echo;</item>
/// <item>a client that got nothing for a whole watchdog period refills its window (tail losses);
/// a datagram that still comes back later was not lost after all and is taken off the errors.</item>
/// </list>
/// </summary>
internal sealed class UdpEchoClient : UdpClient
{
    private readonly Lock _gate = new();
    private readonly Shared _shared;
    private readonly byte[] _message;
    private readonly bool _sequenced;
    private readonly int _window;
    private long _nextSequence;
    private long _expected;
    private int _deficit;
    private long _bytes;
    private long _messages;
    private long _lastSeenMessages = -1;

    public UdpEchoClient(IPEndPoint server, UdpOptions options, Shared shared)
        : base(server, options)
    {
        _shared = shared;
        _message = TcpBenchmark.MakeMessage(shared.Size);
        _sequenced = shared.Size >= sizeof(long);
        _window = shared.Options.Messages;
    }

    public long Bytes => Volatile.Read(ref _bytes);

    public long Messages => Volatile.Read(ref _messages);

    public long Lost { get; private set; }

    public long Late { get; private set; }

    public long Refills { get; private set; }

    public long SendsRefused { get; private set; }

    public void SendWindow()
    {
        lock (_gate) SendLocked(_window);
    }

    /// <summary>Called every watchdog period: refill a window that has gone silent.</summary>
    public void Watchdog()
    {
        lock (_gate)
        {
            if (_shared.Stopping) return;
            if (_messages != _lastSeenMessages)
            {
                _lastSeenMessages = _messages;
                return;
            }

            Refills++;
            if (_sequenced)
            {
                Lost += _nextSequence - _expected;
                _expected = _nextSequence;
            }

            _deficit = 0;
            SendLocked(_window);
        }
    }

    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
        lock (_gate)
        {
            Volatile.Write(ref _bytes, _bytes + datagram.Length);
            Volatile.Write(ref _messages, _messages + 1);
            int toSend = 1;
            if (_sequenced && datagram.Length >= sizeof(long))
            {
                long sequence = BinaryPrimitives.ReadInt64LittleEndian(datagram);
                if (sequence == _expected)
                {
                    _expected++;
                }
                else if (sequence > _expected)
                {
                    long gap = sequence - _expected;
                    Lost += gap;
                    toSend += (int)Math.Min(gap, _window);
                    _expected = sequence + 1;
                }
                else
                {
                    Late++; // counted lost by a gap or a refill, and replaced already
                    toSend = 0;
                }
            }

            if (_shared.Stopping) return;
            SendLocked(toSend + _deficit);
        }
    }

    protected override void OnError(Exception error) => _shared.Error(error);

    private void SendLocked(int count)
    {
        _deficit = 0;
        for (int i = 0; i < count; i++)
        {
            if (_sequenced) BinaryPrimitives.WriteInt64LittleEndian(_message, _nextSequence);
            if (!Send(_message))
            {
                SendsRefused++;
                _deficit = count - i;
                return;
            }

            _nextSequence++;
        }
    }
}

/// <summary>A member of the multicast group; the library counts what it receives.</summary>
internal sealed class UdpGroupMember(UdpOptions options, Shared shared) : UdpClient(null, options)
{
    protected override void OnError(Exception error) => shared.Error(error);
}

internal sealed class UdpBenchmark(Shared shared) : IBenchmark
{
    /// <summary>Administratively scoped (239/8); with TTL 0 and interface 127.0.0.1 nothing leaves the host.</summary>
    private static readonly IPAddress Group = IPAddress.Parse("239.255.0.1");

    private static readonly TimeSpan WatchdogPeriod = TimeSpan.FromMilliseconds(100);

    private const int EchoSocketBufferBytes = 4 * 1024 * 1024;

    private readonly BenchOptions _o = shared.Options;
    private readonly List<UdpEchoClient> _echoClients = [];
    private readonly List<UdpGroupMember> _members = [];
    private UdpServer? _server;
    private Thread? _sender;
    private Timer? _watchdog;
    private long[] _baseline = [];
    private long _senderRefused;

    private bool Echo => _o.Scenario == Scenario.Echo;

    public int Port { get; private set; }

    public async Task SetUpAsync(CancellationToken cancellationToken)
    {
        if (Echo)
        {
            var server = new UdpEchoServer(new IPEndPoint(IPAddress.Loopback, 0), Enlarged(new UdpOptions()), shared);
            _server = server;
            server.Start();
            Port = server.EndPoint.Port;
            var endPoint = new IPEndPoint(IPAddress.Loopback, Port);
            for (int i = 0; i < _o.Clients; i++)
            {
                var client = new UdpEchoClient(endPoint,
                    Enlarged(new UdpOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }), shared);
                client.Start();
                _echoClients.Add(client);
            }

            return;
        }

        Port = FreeUdpPort();
        var groupEndPoint = new IPEndPoint(Group, Port);
        _server = new UdpServer(new IPEndPoint(IPAddress.Loopback, 0), LoopbackMulticast(groupEndPoint, null));
        _server.Start();
        for (int i = 0; i < _o.Clients; i++)
        {
            // Bound to the group address itself (Linux filters by it) and sharing the port.
            var member = new UdpGroupMember(LoopbackMulticast(groupEndPoint, groupEndPoint), shared);
            member.Start();
            member.JoinMulticastGroup(Group, IPAddress.Loopback);
            _members.Add(member);
        }

        // Check that the group works on loopback before measuring: every member must get a probe.
        byte[] probe = TcpBenchmark.MakeMessage(_o.Size);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (_members.Any(m => m.DatagramsReceived == 0))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException(
                    $"Multicast to {groupEndPoint} over 127.0.0.1 did not reach every member within 5 s.");
            }

            _server.Multicast(probe);
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }

        await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        _baseline = _members.Select(m => m.BytesReceived).ToArray();
    }

    public void Start()
    {
        shared.Started.TrySetResult();
        if (Echo)
        {
            foreach (var client in _echoClients) client.SendWindow();
            _watchdog = new Timer(_ =>
            {
                foreach (var client in _echoClients) client.Watchdog();
            }, null, WatchdogPeriod, WatchdogPeriod);
            return;
        }

        byte[] message = TcpBenchmark.MakeMessage(_o.Size);
        UdpServer server = _server!;
        _sender = new Thread(() =>
        {
            // As fast as the kernel takes them; a refused send (full send buffer) yields the CPU.
            long refused = 0;
            while (!shared.Stopping)
            {
                if (!server.Multicast(message))
                {
                    refused++;
                    Thread.Yield();
                }
            }

            Volatile.Write(ref _senderRefused, refused);
        })
        { Name = "multicast", IsBackground = true };
        _sender.Start();
    }

    public Sample Sample()
    {
        if (Echo)
        {
            long bytes = 0, messages = 0;
            foreach (var client in _echoClients)
            {
                bytes += client.Bytes;
                messages += client.Messages;
            }

            return new Sample(bytes, messages);
        }

        long received = 0;
        for (int i = 0; i < _members.Count; i++) received += _members[i].BytesReceived - _baseline[i];
        return new Sample(received, received / _o.Size);
    }

    public IEnumerable<string> Diagnostics()
    {
        _sender?.Join(TimeSpan.FromSeconds(5));
        if (Echo)
        {
            long lost = _echoClients.Sum(c => c.Lost), late = _echoClients.Sum(c => c.Late);
            yield return $"# udp echo: window refills after {WatchdogPeriod.TotalMilliseconds:0} ms of silence: " +
                         $"{_echoClients.Sum(c => c.Refills)}; " +
                         $"losses detected: {lost}, of which came back late: {late}; client sends refused (retried): " +
                         $"{_echoClients.Sum(c => c.SendsRefused)}; " +
                         $"server replies refused: {_server!.DatagramsDropped}";
        }
        else
        {
            long sent = _server!.DatagramsSent;
            yield return $"# udp multicast: server sent {sent} datagrams, {_senderRefused} sends " +
                         "refused (full send buffer); " +
                         $"each member got {(sent == 0 ? 0 : 100.0 * Sample().Messages / _o.Clients / sent):0.0}% of " +
                         "them on average";
        }
    }

    /// <summary>Errors that UDP echo detects: losses, less those that came back late.</summary>
    public long DetectedErrors => Echo ? Math.Max(0, _echoClients.Sum(c => c.Lost) - _echoClients.Sum(c => c.Late)) : 0;

    public async ValueTask DisposeAsync()
    {
        shared.Stop();
        if (_watchdog is not null) await _watchdog.DisposeAsync().ConfigureAwait(false);
        _sender?.Join(TimeSpan.FromSeconds(5));
        foreach (var client in _echoClients) await client.DisposeAsync().ConfigureAwait(false);
        foreach (var member in _members) await member.DisposeAsync().ConfigureAwait(false);
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
    }

    private static UdpOptions LoopbackMulticast(IPEndPoint group, IPEndPoint? bind) => new()
    {
        MulticastGroup = group,
        MulticastInterface = IPAddress.Loopback,
        MulticastTimeToLive = 0,
        MulticastLoopback = true,
        ReuseAddress = bind is not null,
        LocalEndPoint = bind,
    };

    /// <summary>
    /// A larger socket receive buffer than the 208 KiB default, which holds only a few hundred small
    /// datagrams (each costs its kernel bookkeeping, about 1 KiB, not its payload): the kernel caps the
    /// request at net.core.rmem_max (and net.core.wmem_max for the send buffer). The library sets both
    /// on the socket before it binds.
    /// </summary>
    private static UdpOptions Enlarged(UdpOptions options)
    {
        options.SocketReceiveBufferBytes = EchoSocketBufferBytes;
        options.SocketSendBufferBytes = EchoSocketBufferBytes;
        return options;
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
