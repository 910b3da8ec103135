// A TCP server: accept loop with admission control (limit, pause, bans), the live session table,
// server-wide multicast, and a stop that releases the port and every session.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gray.Net.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gray.Net;

public partial class TcpServer : IAsyncDisposable
{
    /// <summary>First pause after a failed accept; it doubles up to MaxAcceptRetryDelay.</summary>
    private static readonly TimeSpan InitialAcceptRetryDelay = TimeSpan.FromMilliseconds(10);

    private IPEndPoint _bindEndPoint;
    private readonly object _lifecycle = new();
    private readonly ConcurrentDictionary<long, TcpSession> _sessions = new();
    private TcpSession[] _multicastSnapshot = [];
    private int _sessionsVersion;
    private int _snapshotVersion = -1;
    private readonly ConcurrentDictionary<IPAddress, byte> _banned = new();
    private readonly AddressQuota _perAddress;
    private readonly long[] _refusedBy = new long[Enum.GetValues<RefuseReason>().Length];
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _reserveDescriptor;
    private Socket? _listener;
    private CancellationTokenSource? _acceptCancellation;
    private Task _acceptLoop = Task.CompletedTask;
    private int _sessionCount;
    private volatile bool _paused;
    private long _accepted;
    private long _refused;
    private long _acceptErrors;
    private long _handshakeFailures;
    private long _closedBytesSent;
    private long _closedBytesReceived;

    public TcpServer(IPEndPoint endPoint, TcpServerOptions? options = null)
    {
        _bindEndPoint = endPoint;
        Options = options ?? new TcpServerOptions();
        Logger = (Options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger(GetType());
        EndPoint = endPoint;
        _perAddress = new AddressQuota(Options.MaxSessionsPerAddress, Options.AddressPrefix);
    }

    public TcpServerOptions Options { get; }

    /// <summary>The bound address; after Start() it carries the real port when 0 was asked for.</summary>
    public IPEndPoint EndPoint { get; private set; }

    public bool IsStarted => Volatile.Read(ref _listener) is not null;

    private volatile bool _acceptsHandedOnly;

    public bool IsAcceptingPaused => _paused;

    /// <summary>Live sessions, including ones still in their handshake.</summary>
    public int SessionCount => Volatile.Read(ref _sessionCount);

    public long SessionsAccepted => Interlocked.Read(ref _accepted);

    public long ConnectionsRefused => Interlocked.Read(ref _refused);

    /// <summary>Refusals so far for one reason.</summary>
    public long RefusedFor(RefuseReason reason) => Interlocked.Read(ref _refusedBy[(int)reason]);

    /// <summary>
    /// Sessions allowed from one source address; may be changed while running (sessions over a lowered limit stay).
    /// </summary>
    public int MaxSessionsPerAddress
    {
        get => _perAddress.LimitPerAddress;
        set
        {
            _perAddress.LimitPerAddress = value;
            Options.MaxSessionsPerAddress = value;
        }
    }

    /// <summary>Live sessions from one source address.</summary>
    public int SessionsFrom(IPAddress address) => _perAddress.CountOf(address);

    public long AcceptErrors => Interlocked.Read(ref _acceptErrors);

    public long HandshakeFailures => Interlocked.Read(ref _handshakeFailures);

    public long BytesSent => Interlocked.Read(ref _closedBytesSent) + _sessions.Values.Sum(s => s.BytesSent);

    public long BytesReceived => Interlocked.Read(ref _closedBytesReceived)
        + _sessions.Values.Sum(s => s.BytesReceived);

    public IReadOnlyCollection<IPAddress> BannedAddresses => _banned.Keys.ToArray();

    protected ILogger Logger { get; }

    /// <summary>Binds and starts accepting. Throws if the address is in use.</summary>
    public void Start()
    {
        lock (_lifecycle)
        {
            if (_listener is not null) throw new InvalidOperationException("The server is already started.");
            var listener = new Socket(_bindEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (_bindEndPoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    listener.DualMode = Options.DualMode;
                }

                listener.Bind(_bindEndPoint);
                listener.Listen(Options.ListenBacklog);
            }
            catch
            {
                listener.Dispose();
                throw;
            }

            EndPoint = (IPEndPoint)listener.LocalEndPoint!;
            _bindEndPoint = EndPoint;
            // a restart comes back on the same port, even if 0 was asked for
            if (Options.ShedWhenOutOfDescriptors) _reserveDescriptor ??= OpenReserveDescriptor();
            _acceptCancellation = new CancellationTokenSource();
            _paused = false;
            Volatile.Write(ref _listener, listener);
            _acceptLoop = AcceptLoopAsync(listener, _acceptCancellation.Token);
        }

        Log.Listening(Logger, EndPoint);
        OnStarted();
    }

    /// <summary>
    /// Serves only connections handed to <see cref="AcceptAsync"/> (made inside the process, say), with
    /// no port of its own: the same sessions, budgets and stop as a listening server.
    /// </summary>
    public void StartWithoutPort() => _acceptsHandedOnly = true;

    /// <summary>Stops accepting, releases the port, closes every session and waits for them to end.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _acceptsHandedOnly = false;
        bool wasListening = await StopListeningAsync().ConfigureAwait(false);
        DisconnectAll();
        await Task.WhenAll(_sessions.Values.Select(s => s.Completion)).WaitAsync(cancellationToken)
            .ConfigureAwait(false);
        if (wasListening) OnStopped();
    }

    /// <summary>
    /// Closes the listener (the port is free when this returns) and leaves live sessions running.
    /// False if it was not listening.
    /// </summary>
    public async Task<bool> StopListeningAsync()
    {
        Socket? listener;
        Task acceptLoop;
        lock (_lifecycle)
        {
            listener = _listener;
            if (listener is null) return false;
            Volatile.Write(ref _listener, null);
            acceptLoop = _acceptLoop;
            _acceptCancellation!.Cancel();
        }

        listener.Dispose();
        await acceptLoop.ConfigureAwait(false);
        _reserveDescriptor?.Dispose();
        _reserveDescriptor = null;
        Log.Stopped(Logger, EndPoint);
        return true;
    }

    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken).ConfigureAwait(false);
        Start();
    }

    /// <summary>New connections are refused at once (the port stays bound) until resumed.</summary>
    public void PauseAccepting() => _paused = true;

    public void ResumeAccepting() => _paused = false;

    /// <summary>The connected sessions (past their handshake).</summary>
    public IReadOnlyList<SessionInfo> GetSessions() =>
        _sessions.Values.Where(s => s.IsConnected).Select(s => s.ToInfo()).ToArray();

    public TcpSession? FindSession(long id) => _sessions.GetValueOrDefault(id);

    public bool DisconnectSession(long id)
    {
        if (!_sessions.TryGetValue(id, out var session)) return false;
        session.Disconnect();
        return true;
    }

    public int DisconnectAll() => DisconnectWhere(_ => true);

    /// <summary>Disconnects every session whose remote address is <paramref name="address"/>.</summary>
    public int DisconnectAddress(IPAddress address)
    {
        address = Normalize(address);
        return DisconnectWhere(s => s.RemoteEndPoint is IPEndPoint ip && Normalize(ip.Address).Equals(address));
    }

    /// <summary>Refuses new connections from <paramref name="address"/>, and by default drops its sessions.</summary>
    public void Ban(IPAddress address, bool disconnectExisting = true)
    {
        _banned[Normalize(address)] = 0;
        if (disconnectExisting) DisconnectAddress(address);
    }

    public bool Unban(IPAddress address) => _banned.TryRemove(Normalize(address), out _);

    public bool IsBanned(IPAddress address) => _banned.ContainsKey(Normalize(address));

    /// <summary>Queues <paramref name="data"/> to every session; returns how many took it.</summary>
    public int Multicast(ReadOnlySpan<byte> data)
    {
        int queued = 0;
        foreach (var session in MulticastSnapshot())
        {
            if (session.IsConnected && session.Send(data) == SendResult.Queued) queued++;
        }

        return queued;
    }

    // An array of the sessions, rebuilt only after one came or went: multicast itself neither locks nor allocates.
    private TcpSession[] MulticastSnapshot()
    {
        int version = Volatile.Read(ref _sessionsVersion);
        if (version == Volatile.Read(ref _snapshotVersion)) return Volatile.Read(ref _multicastSnapshot);
        var snapshot = _sessions.Values.ToArray();
        Volatile.Write(ref _multicastSnapshot, snapshot);
        Volatile.Write(ref _snapshotVersion, version);
        return snapshot;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Makes the session object for an accepted connection.</summary>
    protected virtual TcpSession CreateSession() => new(this);

    /// <summary>Builds a session's stream; TLS servers override it to handshake.</summary>
    protected virtual ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        ValueTask.FromResult(transport);

    protected virtual void OnStarted()
    {
    }

    protected virtual void OnStopped()
    {
    }

    protected virtual void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason)
    {
    }

    /// <summary>
    /// A subclass's own admission rule, checked after bans, pause and limits; null admits. What it
    /// takes for an admitted connection, <see cref="OnSessionEnded"/> can give back.
    /// </summary>
    protected virtual RefuseReason? CheckAdmission(IPEndPoint remoteEndPoint) => null;

    /// <summary>A session's stream could not be set up (a failed or timed-out TLS handshake). Must not throw.</summary>
    protected virtual void OnHandshakeFailed(EndPoint? remoteEndPoint, Exception error)
    {
    }

    /// <summary>
    /// A connection passed <see cref="CheckAdmission"/> but no session could be made for it, so
    /// <see cref="OnSessionEnded"/> will not come: give back what the check took.
    /// </summary>
    protected virtual void OnAdmissionCanceled(IPEndPoint remoteEndPoint)
    {
    }

    /// <summary>A session was admitted and is about to set up its stream (a TLS handshake, say).</summary>
    protected virtual void OnSessionAdmitted(TcpSession session, IPEndPoint remoteEndPoint)
    {
    }

    /// <summary>Called once for every admitted session when it is gone, handshake failures included.</summary>
    protected virtual void OnSessionEnded(TcpSession session)
    {
    }

    private int DisconnectWhere(Func<TcpSession, bool> predicate)
    {
        int count = 0;
        foreach (var session in _sessions.Values)
        {
            if (predicate(session) && session.TryDisconnect()) count++;
        }

        return count;
    }
}
