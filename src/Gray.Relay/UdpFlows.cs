// A UDP server's client port: each client address and port is a flow, carried to the agent as a datagram
// channel on one of its multiplexed data connections. The allow/deny rules, drain and the clients'
// budgets decide who gets a flow; a datagram past the bandwidth limits, or that finds no room, is dropped
// and counted, never queued beyond the channel's window; a flow with no datagram either way for
// udp_idle_timeout ends.
using System.Collections.Concurrent;
using System.Net;
using Gray.Hosting;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;

namespace Gray.Relay;

internal sealed class UdpFlows(RelayTunnel tunnel, IPEndPoint endPoint)
    : UdpServer(endPoint, new UdpOptions { SocketReceiveBufferBytes = 1024 * 1024 })
{
    private readonly ConcurrentDictionary<IPEndPoint, Flow> _flows = new();
    private readonly AddressQuota _perAddress =
        new(tunnel.Relay.Options.MaxClientConnectionsPerIp, tunnel.Relay.Options.AddressPrefix);
    private ITimer? _expiry;
    private long _dropped;
    private long _refused;

    /// <summary>Flows open now.</summary>
    public int FlowCount => _flows.Count;

    /// <summary>Datagrams dropped: no room toward the agent, or toward the client, or no flow for them.</summary>
    public long Dropped => Interlocked.Read(ref _dropped) + DatagramsDropped;

    /// <summary>Datagrams refused by the rules, drain or the budgets.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private TimeProvider Time => tunnel.Relay.Time;

    protected override void OnStarted()
    {
        var period = TimeSpan.FromTicks(
            Math.Max(TimeSpan.TicksPerSecond, tunnel.Relay.Options.UdpIdleTimeout.Ticks / 4));
        _expiry = Time.CreateTimer(_ => Expire(), null, period, period);
    }

    protected override void OnStopped()
    {
        _expiry?.Dispose();
        foreach (var flow in _flows.Values) End(flow);
    }

    // On the receive loop, for every client: never waits.
    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
        if (remote is not IPEndPoint from) return;
        if (!_flows.TryGetValue(from, out var flow) && (flow = Open(from)) is null) return;
        flow.Touch(Time);
        // Past the bandwidth limit, or without room toward the agent: dropped and counted.
        if (flow.Limits.AToB?.TryTake(datagram.Length) == false || !flow.Datagrams.TrySend(datagram))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private Flow? Open(IPEndPoint from)
    {
        var relay = tunnel.Relay;
        var address = AddressRules.Normalize(from.Address);
        if (!tunnel.ClientRules.IsAllowed(address) || relay.IsDraining(tunnel.Id)
            || _flows.Count >= relay.Options.EffectiveMaxClientsPerServer)
        {
            return Refuse();
        }

        _perAddress.LimitPerAddress = relay.Options.MaxClientConnectionsPerIp; // reloadable
        if (!_perAddress.TryAcquire(address)) return Refuse();
        if (!relay.Clients.TryAcquire())
        {
            _perAddress.Release(address);
            return Refuse();
        }

        var channel = tunnel.TryTakeMux()?.TryOpen(new Start(from, Datagrams: true).Encode());
        if (channel is null)
        {
            relay.Clients.Release();
            _perAddress.Release(address);
            Interlocked.Increment(ref _dropped); // no multiplexed data connection ready yet
            return null;
        }

        var limits = tunnel.Bandwidth.Acquire(address, out var lease);
        var flow = new Flow(from, address, new MuxDatagramChannel(channel), limits, lease);
        flow.Touch(Time);
        _flows[from] = flow;
        relay.Events.Publish(Events.RelayEventTypes.PairOpened, tunnel.Id, address);
        Background.Observe(ReturnAsync(flow), $"Server {tunnel.Id}: UDP flow", tunnel.Logger);
        return flow;
    }

    // The agent's side of one flow: its datagrams go back to the client until the flow ends.
    private async Task ReturnAsync(Flow flow)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(MuxDatagramChannel.MaxDatagramBytes);
        try
        {
            int length;
            while ((length = await flow.Datagrams.ReceiveAsync(buffer).ConfigureAwait(false)) >= 0)
            {
                flow.Touch(Time);
                if (flow.Limits.BToA?.TryTake(length) == false) Interlocked.Increment(ref _dropped);
                else SendTo(flow.Client, buffer.AsSpan(0, length)); // a full socket buffer drops and counts
            }
        }
        catch (Exception error) when (error is MuxChannelResetException or ProtocolException)
        {
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            End(flow);
        }
    }

    private void Expire()
    {
        long idle = tunnel.Relay.Options.UdpIdleTimeout.Ticks;
        long now = Time.GetUtcNow().UtcTicks;
        foreach (var flow in _flows.Values)
        {
            if (now - flow.LastActivity >= idle) End(flow);
        }
    }

    private void End(Flow flow)
    {
        if (!_flows.TryRemove(KeyValuePair.Create(flow.Client, flow))) return;
        flow.Datagrams.Channel.Abort();
        tunnel.Bandwidth.Release(flow.Lease);
        tunnel.Relay.Clients.Release();
        _perAddress.Release(flow.Address);
        tunnel.Relay.Events.Publish(Events.RelayEventTypes.PairClosed, tunnel.Id, flow.Address);
    }

    private Flow? Refuse()
    {
        Interlocked.Increment(ref _refused);
        return null;
    }

    private sealed class Flow(IPEndPoint client, IPAddress address, MuxDatagramChannel datagrams,
        SpliceLimits limits, ServerBandwidth.ClientBuckets? lease)
    {
        public SpliceLimits Limits => limits;

        public ServerBandwidth.ClientBuckets? Lease => lease;

        private long _lastActivity;

        public IPEndPoint Client => client;

        public IPAddress Address => address;

        public MuxDatagramChannel Datagrams => datagrams;

        public long LastActivity => Interlocked.Read(ref _lastActivity);

        public void Touch(TimeProvider time) => Interlocked.Exchange(ref _lastActivity, time.GetUtcNow().UtcTicks);
    }
}
