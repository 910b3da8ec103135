// Where an agent reaches its relay: HOST:PORT or tls://HOST:PORT (the control port), or ws[s]://HOST[:PORT]/PATH
// (a WebSocket on the relay's web port, for networks that let out only web traffic; decision 0036).
using System.Net;
using Gray.Hosting;

namespace Gray.Cli;

internal readonly record struct RelayAddress(DnsEndPoint EndPoint, Uri? WebSocket)
{
    private const string Forms = "HOST:PORT, tls://HOST:PORT, wss://HOST[:PORT]/PATH or ws://HOST[:PORT]/PATH";

    /// <summary>More control ports of the same cluster (HOST:PORT,HOST:PORT): a session on each.</summary>
    public IReadOnlyList<DnsEndPoint>? More { get; init; }

    /// <summary>One relay, or a comma-separated list of a cluster's nodes (control ports only).</summary>
    public static RelayAddress ParseList(string text, string what)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length <= 1) return Parse(text.Trim(), what) with { More = [] };
        var all = parts.Select(p => Parse(p, what)).ToArray();
        if (all.Any(a => a.WebSocket is not null))
        {
            throw new ConfigException($"{what}: several relays are reached on their control ports " +
                "(HOST:PORT,HOST:PORT), not by WebSocket");
        }

        return all[0] with { More = [.. all[1..].Select(a => a.EndPoint)] };
    }

    public static RelayAddress Parse(string text, string what)
    {
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        string name = scheme < 0 ? "tls" : text[..scheme].ToLowerInvariant();
        switch (name)
        {
            case "tls":
                return new(SettingText.ParseHostPort(scheme < 0 ? text : text[(scheme + 3)..], what), null);
            case "ws" or "wss":
                if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Host.Length == 0
                    || url.UserInfo.Length > 0 || url.Query.Length > 0 || url.Fragment.Length > 0)
                {
                    throw new ConfigException($"{what}: '{RelaySettings.Shorten(text)}' is not a {name}:// URL " +
                        "(wss://HOST[:PORT]/PATH)");
                }

                return new(new DnsEndPoint(url.IdnHost.Trim('[', ']'), url.Port), url);
            default:
                throw new ConfigException($"{what}: '{RelaySettings.Shorten(name)}://' is not a way to the relay " +
                    $"({Forms})");
        }
    }

    /// <summary>Plain data connections need the relay's control port: a WebSocket carries only TLS.</summary>
    public static void CheckPlainData(Uri? webSocket, bool plainData, string what)
    {
        if (plainData && webSocket is not null)
        {
            throw new ConfigException($"{what}: plain data connections need the relay's control port " +
                "(tls://HOST:PORT), not a WebSocket");
        }
    }
}
