// One registered server with a live agent (the seed's GrayServer): its client and data ports, the
// pool of OTP-admitted data connections (or multiplexed ones, which each carry many clients), the
// FIFO of clients waiting for one, pairing, and ping/pong.
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class GrayServer
{
    /// <summary>Longest pause between housekeeping passes (OTP expiry, pool top-up, pings).</summary>
    private static readonly TimeSpan MaxHousekeepingInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a shutdown waits to deliver its error frame to the agent.</summary>
    private static readonly TimeSpan GoodbyeTimeout = TimeSpan.FromSeconds(1);

    private readonly RelayContext _relay;
    private readonly ControlSession _control;
    private readonly TcpServer _clients;
    private readonly TcpServer _data;
    private readonly object _gate = new();
    private readonly LinkedList<DataSession> _ready = new();
    private readonly List<DataSession> _muxes = new();
    private readonly LinkedList<TaskCompletionSource<DataSession?>> _waiting = new();
    private readonly List<PendingOtp> _otps = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastHeard = Environment.TickCount64;
    private long _lastPingSent = Environment.TickCount64;
    private int _shutdown;
    private long _pairIds;
    private int _activePairs;

    // Data connections whose OTP was redeemed but that are not in the pool yet: they fill a pool slot,
    // or a top-up in between would ask for one connection too many.
    private int _admitting;

    /// <summary>Limits of this relay's multiplexed data connections.</summary>
    internal MuxOptions MuxOptions => _relay.Mux;

    public GrayServer(RelayContext relay, ControlSession control, ServerEntry entry, int pool, bool plainData, byte[]? authKey = null,
        bool mux = false)
    {
        Mux = mux;
        AuthKey = authKey;
        _relay = relay;
        _control = control;
        Id = entry.Id;
        ClientPort = entry.ClientPort;
        DataPort = entry.DataPort;
        Pool = pool;
        PlainData = plainData;
        Logger = relay.LoggerFactory.CreateLogger<GrayServer>();
        IPAddress bind = relay.Options.EffectivePublicBind;
        var options = relay.ListenerOptions(relay.Options.MaxClientsPerServer, relay.Options.MaxClientConnectionsPerIp, Id);
        _clients = new ClientListener(this, new IPEndPoint(bind, ClientPort), options);
        // Every pair holds one data connection, and the pool waits on top of them.
        var dataOptions = relay.ListenerOptions(relay.Options.MaxClientsPerServer + Rules.MaxPool, serverId: Id);
        _data = new DataListener(this, new IPEndPoint(bind, DataPort),
            plainData ? null : new TlsServerOptions { Certificate = relay.Certificate }, dataOptions);
    }

    public string Id { get; }

    /// <summary>The trusted key its agent authenticated with, or null for the HMAC secret.</summary>
    public byte[]? AuthKey { get; }

    public RelayContext Relay => _relay;

    /// <summary>This server's rules as the configuration has them now (a reload may change them).</summary>
    public ServerRules Rules => _relay.Options.RulesFor(Id);

    public AddressRules ClientRules
    {
        get
        {
            var rules = Rules;
            var cached = _clientRules;
            if (cached is null || !ReferenceEquals(cached.Source, rules))
            {
                cached = new ParsedRules(rules, rules.ToAddressRules());
                _clientRules = cached;
            }

            return cached.Rules;
        }
    }

    private volatile ParsedRules? _clientRules;

    /// <summary>Applies reloaded listener settings: the TLS deadline and the per-address client limit.</summary>
    public void ApplyListenerSettings(RelayOptions options)
    {
        _clients.Options.HandshakeTimeout = options.HandshakeTimeout;
        _data.Options.HandshakeTimeout = options.HandshakeTimeout;
        _clients.MaxSessionsPerAddress = options.MaxClientConnectionsPerIp;
    }

    /// <summary>Ends the pairs of every client from <paramref name="address"/>; returns how many.</summary>
    public int Kick(IPAddress address) => _clients.DisconnectAddress(address);

    public int ClientPort { get; }

    public int DataPort { get; }

    public int Pool { get; }

    public bool PlainData { get; }

    /// <summary>The agent asked for multiplexed data connections.</summary>
    public bool Mux { get; }

    public int ReadyCount
    {
        get { lock (_gate) return _ready.Count + _muxes.Count; }
    }

    public int ActivePairs => Volatile.Read(ref _activePairs);

    /// <summary>Bytes from clients so far, running pairs included (the client port's own count).</summary>
    public long BytesIn => _clients.BytesReceived;

    /// <summary>Bytes to clients so far, running pairs included.</summary>
    public long BytesOut => _clients.BytesSent;

    public EndPoint? AgentEndPoint => _control.RemoteEndPoint;

    public ILogger Logger { get; }

    private bool IsShutDown => Volatile.Read(ref _shutdown) != 0;

    /// <summary>Binds both ports. Throws if a port is taken.</summary>
    public Task StartAsync()
    {
        _data.Start();
        try
        {
            _clients.Start();
        }
        catch
        {
            Background.Observe(_data.StopAsync(), $"Server {Id}: data port stop", Logger);
            throw;
        }

        return Task.CompletedTask;
    }

    /// <summary>After the welcome went out: fills the pool and starts housekeeping.</summary>
    public void Serve()
    {
        RelayLog.AgentConnected(Logger, Id, _control.RemoteEndPoint, ClientPort, DataPort, Pool,
            (PlainData ? "plain" : "TLS") + (Mux ? " multiplexed" : " pooled"));
        TopUpPool();
        Background.Observe(HousekeepingAsync(_stopping.Token), $"Server {Id}: housekeeping", Logger);
    }

    /// <summary>
    /// Shuts down once: listeners and pooled sockets closed, waiting clients and the control channel
    /// dropped, removed from the manager. With <paramref name="keepPairs"/> running pairs go on.
    /// </summary>
    public async Task ShutdownAsync(string reason, bool keepPairs, ErrorCode? tellAgent = null)
    {
        if (Interlocked.Exchange(ref _shutdown, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        _stopping.Cancel();
        _relay.Manager.Remove(this);
        if (tellAgent is { } code && _control.IsConnected)
        {
            _control.Send(Frames.Error(code, reason));
            using var goodbye = new CancellationTokenSource(GoodbyeTimeout);
            try
            {
                await _control.FlushAsync(goodbye.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _control.Disconnect();
        if (keepPairs)
        {
            await Task.WhenAll(_clients.StopListeningAsync(), _data.StopListeningAsync()).ConfigureAwait(false);
        }
        else
        {
            await Task.WhenAll(_clients.StopAsync(), _data.StopAsync()).ConfigureAwait(false);
        }

        List<DataSession> pooled, muxes;
        List<TaskCompletionSource<DataSession?>> waiting;
        lock (_gate)
        {
            pooled = [.. _ready];
            muxes = [.. _muxes];
            waiting = [.. _waiting];
            _ready.Clear();
            _muxes.Clear();
            _waiting.Clear();
            _otps.Clear();
            _admitting = 0;
        }

        foreach (var waiter in waiting) waiter.TrySetResult(null);
        foreach (var data in pooled) data.Disconnect();
        foreach (var data in muxes)
        {
            // Kept pairs run on: the connection closes when its last channel ends.
            if (keepPairs) data.Mux!.Drain();
            else data.Disconnect();
        }

        RelayLog.ServerShutDown(Logger, Id, reason);
        _stopped.TrySetResult();
    }

    /// <summary>A frame from the agent on the control channel.</summary>
    public void OnControlFrame(Frame frame)
    {
        Volatile.Write(ref _lastHeard, Environment.TickCount64);
        switch (frame.Type)
        {
            case FrameType.Ping:
                _control.Send(Frames.Ping(FrameType.Pong, Frames.ParsePing(frame)));
                break;
            case FrameType.Pong:
                long sent = (long)Frames.ParsePing(frame); // our ping's nonce is its Stopwatch timestamp
                if (sent > 0 && sent <= Stopwatch.GetTimestamp())
                {
                    RelayMeter.PingRoundTrip.Record(Stopwatch.GetElapsedTime(sent).TotalSeconds, new KeyValuePair<string, object?>("server", Id));
                }

                break;
            default:
                throw new ProtocolException($"unexpected {frame.Type} frame after the handshake");
        }
    }

    /// <summary>Single use, unexpired, and issued by this server; compared in constant time.</summary>
    public bool TryRedeemOtp(ReadOnlySpan<byte> otp)
    {
        lock (_gate)
        {
            ExpireOtpsLocked(Environment.TickCount64);
            for (int i = 0; i < _otps.Count; i++)
            {
                if (CryptographicOperations.FixedTimeEquals(_otps[i].Value, otp))
                {
                    _otps.RemoveAt(i);
                    _admitting++;
                    RelayMeter.Otp(Id, "used");
                    return true;
                }
            }

            RelayMeter.Otp(Id, "rejected");
            return false;
        }
    }

    /// <summary>What is left of the OTP deadline for a data connection accepted at <paramref name="acceptedAt"/>.</summary>
    public TimeSpan OtpDeadline(DateTimeOffset acceptedAt)
    {
        var left = _relay.Options.OtpTimeout - (DateTimeOffset.UtcNow - acceptedAt);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>
    /// A data connection for the pool: to the first waiting client, or into the pool. <paramref name="admitted"/>:
    /// it just redeemed its OTP (not a connection given back).
    /// </summary>
    public void OfferReady(DataSession data, bool admitted = false)
    {
        bool handed = false, refused = false;
        lock (_gate)
        {
            if (admitted) AdmittedLocked();
            if (IsShutDown)
            {
                refused = true;
            }
            else
            {
                while (_waiting.First is { } waiter)
                {
                    _waiting.RemoveFirst();
                    if (waiter.Value.TrySetResult(data))
                    {
                        handed = true;
                        break;
                    }
                }

                if (!handed) _ready.AddLast(data);
            }
        }

        if (refused) data.Disconnect();
        if (handed) TopUpPool();
    }

    /// <summary>An admitted multiplexed connection: every waiting client gets a channel on it.</summary>
    public void OfferMux(DataSession data)
    {
        List<TaskCompletionSource<DataSession?>>? waiting = null;
        bool refused = false;
        lock (_gate)
        {
            AdmittedLocked();
            if (IsShutDown)
            {
                refused = true;
            }
            else
            {
                _muxes.Add(data);
                if (_waiting.Count > 0)
                {
                    waiting = [.. _waiting];
                    _waiting.Clear();
                }
            }
        }

        if (refused) data.Disconnect();
        foreach (var waiter in waiting ?? []) waiter.TrySetResult(data);
    }

    /// <summary>A connection that redeemed its OTP was refused after all (it asked for a kind the agent did not).</summary>
    public void AdmissionFailed()
    {
        lock (_gate)
        {
            AdmittedLocked();
        }

        TopUpPool();
    }

    private void AdmittedLocked()
    {
        if (_admitting > 0) _admitting--;
    }

    /// <summary>A multiplexed connection closed: its channels were reset; the agent is asked for a replacement.</summary>
    public void OnMuxEnded(DataSession data)
    {
        lock (_gate)
        {
            if (!_muxes.Remove(data)) return;
        }

        TopUpPool();
    }

    /// <summary>A pooled connection showed activity before any pairing: the agent closed it, or broke protocol.</summary>
    public void OnPooledConnectionActivity(DataSession data)
    {
        bool wasPooled;
        lock (_gate)
        {
            wasPooled = _ready.Remove(data);
        }

        if (!wasPooled) return; // already paired: the splice owns its reads now
        data.Disconnect();
        TopUpPool();
    }

    /// <summary>A ready data connection for <paramref name="client"/>, waiting in the FIFO if need be; null if none came.</summary>
    public async Task<DataSession?> PairAsync(ClientSession client, CancellationToken cancellationToken)
    {
        DataSession? ready = null;
        TaskCompletionSource<DataSession?>? waiter = null;
        LinkedListNode<TaskCompletionSource<DataSession?>>? node = null;
        lock (_gate)
        {
            if (IsShutDown) return null;
            if (LeastLoadedMuxLocked() is { } mux) return mux;
            if (_ready.First is { } first)
            {
                _ready.RemoveFirst();
                ready = first.Value;
            }
            else if (_waiting.Count < _relay.Options.MaxWaitingClients)
            {
                waiter = new TaskCompletionSource<DataSession?>(TaskCreationOptions.RunContinuationsAsynchronously);
                node = _waiting.AddLast(waiter);
            }
        }

        if (ready is not null)
        {
            TopUpPool(); // ask for the replacement at once
            return ready;
        }

        if (waiter is null || node is null)
        {
            RelayLog.ClientRefused(Logger, Id, client.RemoteEndPoint, "too many clients waiting for a data connection");
            return null;
        }

        try
        {
            return await waiter.Task.WaitAsync(_relay.Options.ClientWaitTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is TimeoutException or OperationCanceledException)
        {
            DataSession? handed = null;
            lock (_gate)
            {
                if (waiter.Task.IsCompletedSuccessfully) handed = waiter.Task.Result;
                else if (node.List is not null) _waiting.Remove(node);
                waiter.TrySetResult(null);
            }

            if (handed is not null)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (handed.Mux is null) OfferReady(handed); // give it back (a multiplexed one never left)
                    return null;
                }
                else return handed;
            }

            if (error is TimeoutException)
            {
                RelayLog.ClientRefused(Logger, Id, client.RemoteEndPoint, "no data connection became ready in time");
            }

            return null;
        }
    }

    /// <summary>Tells the agent where the client came from, then splices until both sides are done.</summary>
    public async Task RunPairAsync(ClientSession client, DataSession data, CancellationToken cancellationToken)
    {
        var from = client.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.Any, 0);
        MuxChannel? channel = null;
        if (data.Mux is { } mux && (channel = mux.TryOpen(DataFrames.Start(from))) is null)
        {
            RelayLog.ClientRefused(Logger, Id, client.RemoteEndPoint, "its multiplexed data connection closed");
            return;
        }

        long pairId = Interlocked.Increment(ref _pairIds);
        Interlocked.Increment(ref _activePairs);
        try
        {
            if (channel is null) await data.Stream.WriteAsync(DataFrames.Start(from), cancellationToken).ConfigureAwait(false);
            var server = new KeyValuePair<string, object?>("server", Id);
            RelayMeter.PairSetup.Record((DateTimeOffset.UtcNow - client.ConnectedAt).TotalSeconds, server);
            RelayLog.PairStarted(Logger, Id, pairId, client.RemoteEndPoint);
            var result = channel is null
                ? await Splice.RunAsync(client, data, data.PendingRead, Rules.PairIdleTimeout, cancellationToken).ConfigureAwait(false)
                : await MuxSplice.RunAsync(client, channel, Rules.PairIdleTimeout, cancellationToken).ConfigureAwait(false);
            RelayLog.PairEnded(Logger, Id, pairId, result.BytesAToB, result.BytesBToA, result.Faulted ? " (closed on error)" : "");
        }
        finally
        {
            Interlocked.Decrement(ref _activePairs);
            if (channel is null) data.Release();
        }
    }

    // The multiplexed connection with the fewest channels that takes new ones; null if none.
    private DataSession? LeastLoadedMuxLocked()
    {
        DataSession? best = null;
        int bestCount = int.MaxValue;
        foreach (var data in _muxes)
        {
            var mux = data.Mux!;
            if (!mux.IsAvailable) continue;
            int count = mux.ChannelCount;
            if (count < bestCount)
            {
                best = data;
                bestCount = count;
            }
        }

        return best;
    }

    /// <summary>Issues OTPs over the control channel for every pool slot that is neither ready nor promised.</summary>
    public void TopUpPool()
    {
        List<byte[]>? fresh = null;
        lock (_gate)
        {
            if (IsShutDown) return;
            long now = Environment.TickCount64;
            ExpireOtpsLocked(now);
            int missing = Pool - _ready.Count - _muxes.Count - _otps.Count - _admitting;
            for (int i = 0; i < missing; i++)
            {
                var otp = new PendingOtp(RandomNumberGenerator.GetBytes(Wire.OtpBytes), now + (long)_relay.Options.OtpLifetime.TotalMilliseconds);
                _otps.Add(otp);
                (fresh ??= []).Add(otp.Value);
            }
        }

        if (fresh is null) return;
        RelayMeter.Otp(Id, "issued", fresh.Count);
        foreach (var batch in fresh.Chunk(Wire.MaxOtpsPerFrame)) _control.Send(Frames.Otps(batch));
    }

    private void ExpireOtpsLocked(long now) => RelayMeter.Otp(Id, "expired", _otps.RemoveAll(o => o.ExpiresAt <= now));

    // The seed's timers in one loop: pings, the pong deadline, OTP expiry and the pool check.
    private async Task HousekeepingAsync(CancellationToken cancellationToken)
    {
        var options = _relay.Options;
        var interval = new[] { MaxHousekeepingInterval, options.PingInterval / 2, options.OtpLifetime / 2 }.Min();
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                long silentMs = now - Volatile.Read(ref _lastHeard);
                if (silentMs > options.PingTimeout.TotalMilliseconds)
                {
                    RelayLog.PingTimeout(Logger, Id, silentMs / 1000.0);
                    Background.Observe(ShutdownAsync("ping timeout", keepPairs: false), $"Server {Id}: shutdown", Logger);
                    return;
                }

                if (now - _lastPingSent >= options.PingInterval.TotalMilliseconds)
                {
                    _lastPingSent = now;
                    _control.Send(Frames.Ping(FrameType.Ping, (ulong)Stopwatch.GetTimestamp()));
                }

                TopUpPool();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private readonly record struct PendingOtp(byte[] Value, long ExpiresAt);

    /// <summary>The parsed allow/deny lists of one rules object (parsed once per reload, not per client).</summary>
    private sealed record ParsedRules(ServerRules Source, AddressRules Rules);
}
