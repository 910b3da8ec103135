// What an agent forwards to: HOST:PORT or tcp://HOST:PORT (TCP), udp://HOST:PORT (the relay's UDP flows), or
// tcp+udp://HOST:PORT (both, for a server whose client port carries both).
using System.Net;
using Gray.Hosting;

namespace Gray.Cli;

internal readonly record struct TargetAddress(DnsEndPoint EndPoint, bool Tcp, bool Udp)
{
    public static TargetAddress Parse(string text, string what)
    {
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        string name = scheme < 0 ? "tcp" : text[..scheme].ToLowerInvariant();
        var endPoint = SettingText.ParseHostPort(scheme < 0 ? text : text[(scheme + 3)..], what);
        return name switch
        {
            "tcp" => new(endPoint, Tcp: true, Udp: false),
            "udp" => new(endPoint, Tcp: false, Udp: true),
            "tcp+udp" or "udp+tcp" => new(endPoint, Tcp: true, Udp: true),
            _ => throw new ConfigException($"{what}: '{RelaySettings.Shorten(name)}://' is none of tcp://, udp://, " +
                "tcp+udp://"),
        };
    }
}
