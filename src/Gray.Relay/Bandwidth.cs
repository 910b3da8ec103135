// Bandwidth limits of one server: its clients together, and each client address, each way ("in" is from
// clients to the service, "out" back to them), in bytes per second; 0 is no limit. Token buckets slow
// the splice's reads, so TCP's own flow control slows the sender: nothing is buffered for them.
using System.Globalization;
using System.Net;
using Gray.Net;

namespace Gray.Relay;

public sealed record Bandwidth(long In = 0, long Out = 0, long PerClientIn = 0, long PerClientOut = 0)
{
    public static readonly Bandwidth None = new();

    public bool IsNone => this == None;

    public bool LimitsClients => PerClientIn > 0 || PerClientOut > 0;

    internal string ToColumn() => string.Join(' ', new[] { In, Out, PerClientIn, PerClientOut }
        .Select(v => v.ToString(CultureInfo.InvariantCulture)));

    internal static Bandwidth? FromColumn(string text) =>
        text.Split(' ') is [var i, var o, var ci, var co]
        && long.TryParse(i, CultureInfo.InvariantCulture, out long inRate)
        && long.TryParse(o, CultureInfo.InvariantCulture, out long outRate)
        && long.TryParse(ci, CultureInfo.InvariantCulture, out long clientIn)
        && long.TryParse(co, CultureInfo.InvariantCulture, out long clientOut)
            ? new Bandwidth(inRate, outRate, clientIn, clientOut) : null;
}

/// <summary>
/// A live server's buckets: one each way for the whole server, and one each way per client address while
/// it has pairs. Every pair takes the server's (unlimited ones cost a flag check), so a reload or an API
/// change reaches pairs already running; per-client buckets are taken by pairs that start while a
/// per-client limit is set.
/// </summary>
internal sealed class ServerBandwidth(Func<Bandwidth> settings, TimeProvider time)
{
    private readonly TokenBucket _in = new(0, time), _out = new(0, time);
    private SpliceLimits _serverOnly; // the server's buckets alone, made once (a benign race)
    private readonly Dictionary<IPAddress, ClientBuckets> _clients = new();
    private Bandwidth _applied = Bandwidth.None;

    public Bandwidth Current => Volatile.Read(ref _applied);

    /// <summary>Applies the current settings to every bucket, if they changed.</summary>
    public void Refresh()
    {
        var wanted = settings();
        lock (_clients)
        {
            if (wanted == _applied) return;
            _in.SetRate(wanted.In);
            _out.SetRate(wanted.Out);
            foreach (var client in _clients.Values)
            {
                client.In.SetRate(wanted.PerClientIn);
                client.Out.SetRate(wanted.PerClientOut);
            }

            Volatile.Write(ref _applied, wanted);
        }
    }

    /// <summary>
    /// The limits of a new pair from <paramref name="address"/>; give its lease back when it ends. The
    /// settings are applied when the tunnel starts and on every change (reload, API), not per pair.
    /// </summary>
    public SpliceLimits Acquire(IPAddress address, out ClientBuckets? lease)
    {
        lease = null;
        var current = Current;
        if (!current.LimitsClients)
        {
            if (_serverOnly.AToB is null)
            {
                _serverOnly = new(new DirectionLimit(_in, null), new DirectionLimit(_out, null));
            }

            return _serverOnly; // no allocation per pair
        }

        address = AddressRules.Normalize(address);
        lock (_clients)
        {
            if (!_clients.TryGetValue(address, out lease))
            {
                _clients[address] = lease = new ClientBuckets(address,
                    new TokenBucket(current.PerClientIn, time), new TokenBucket(current.PerClientOut, time));
            }

            lease.Pairs++;
        }

        return new SpliceLimits(new DirectionLimit(_in, lease.In), new DirectionLimit(_out, lease.Out));
    }

    public void Release(ClientBuckets? lease)
    {
        if (lease is null) return;
        lock (_clients)
        {
            if (--lease.Pairs == 0) _clients.Remove(lease.Address);
        }
    }

    internal sealed class ClientBuckets(IPAddress address, TokenBucket @in, TokenBucket @out)
    {
        public IPAddress Address => address;

        public TokenBucket In => @in;

        public TokenBucket Out => @out;

        public int Pairs { get; set; }
    }
}
