// What `gray agent` needs to know.
using System.Net;

namespace Gray.Agent;

public sealed record AgentOptions
{
    /// <summary>The relay's host and port: its control port, or its WebSocket URL's.</summary>
    public required DnsEndPoint Relay { get; init; }

    /// <summary>More addresses of the same relay cluster (--relay given again): a session on each.</summary>
    public IReadOnlyList<DnsEndPoint> MoreRelays { get; init; } = [];

    /// <summary>The name known_relays keeps this relay's certificate under, when it is dialled by one of the
    /// addresses of a name (a cluster behind one DNS name); null: <see cref="RelayText"/>.</summary>
    public string? TrustName { get; init; }

    /// <summary>Most cluster nodes the agent keeps a session and a pool on (draining ones not counted).</summary>
    public int MaxNodes { get; init; } = DefaultMaxNodes;

    public const int DefaultMaxNodes = 5;

    /// <summary>ws:// or wss:// URL: reach the relay by WebSocket on its web port, not its control port.</summary>
    public Uri? RelayWebSocket { get; init; }

    public required string Id { get; init; }

    /// <summary>The server's secret; empty when the agent authenticates with <see cref="Key"/>.</summary>
    public required string Secret { get; init; }

    /// <summary>
    /// A PEM file with the agent's ECDSA P-256 private key, signing the challenge instead of the secret.
    /// </summary>
    public string? KeyFile { get; init; }

    public required DnsEndPoint Target { get; init; }

    /// <summary>The target takes TCP connections (tcp://, the default; tcp+udp://).</summary>
    public bool TargetTcp { get; init; } = true;

    /// <summary>The target takes UDP datagrams (udp://, tcp+udp://): the relay's UDP flows go there.</summary>
    public bool TargetUdp { get; init; }

    public int Pool { get; init; } = 8;

    /// <summary>The relay certificate's SHA-256; without it, trust on first use.</summary>
    public string? Fingerprint { get; init; }

    public bool PlainData { get; init; }

    /// <summary>Multiplexed data connections, each carrying many tunneled connections (the default, decision
    /// 0039); false: one pooled data connection per client.</summary>
    public bool Mux { get; init; } = true;

    /// <summary>Multiplexed when asked for, for a UDP target (flows are channels), and always through a proxy
    /// over TCP: a pooled connection's
    /// half-close is then a TCP FIN, which CONNECT proxies (tinyproxy, for one) do not pass on, while a
    /// channel's, or a WebSocket's, is a frame.</summary>
    public bool EffectiveMux => Mux || TargetUdp || (Proxy is not null && RelayWebSocket is null);

    /// <summary>The PROXY protocol header written to the target before each client's bytes; None writes none.</summary>
    public Gray.Protocol.ProxyProtocolVersion ProxyProtocol { get; init; }

    /// <summary>The trust-on-first-use file (known_relays), as ssh's known_hosts.</summary>
    public required string KnownRelaysPath { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The HTTP proxy (CONNECT) to the relay, for control and data connections; null: direct.</summary>
    public Gray.Net.HttpConnectProxy? Proxy { get; init; }

    public string RelayText => RelayWebSocket?.ToString() ?? $"{Relay.Host}:{Relay.Port}";

    public string TargetText => $"{Target.Host}:{Target.Port}";
}

/// <summary>An error that reconnecting cannot fix: the process exits with <see cref="ExitCode"/>.</summary>
public sealed class AgentFatalException(string message, int exitCode, bool finishPairs = false) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>
    /// Let running pairs finish before exiting (another agent took over: pairs are not its business).
    /// </summary>
    public bool FinishPairs { get; } = finishPairs;
}
