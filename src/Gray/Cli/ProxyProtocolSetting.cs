// The agent's PROXY protocol setting: v1 or v2 (none when absent).
using Gray.Hosting;
using Gray.Protocol;

namespace Gray.Cli;

internal static class ProxyProtocolSetting
{
    public static ProxyProtocolVersion Parse(string? text, string what) => text?.ToLowerInvariant() switch
    {
        null or "" or "none" or "off" => ProxyProtocolVersion.None,
        "v1" or "1" => ProxyProtocolVersion.V1,
        "v2" or "2" => ProxyProtocolVersion.V2,
        _ => throw new ConfigException($"{what}: '{RelaySettings.Shorten(text)}' is not v1 or v2"),
    };

    /// <summary>Version 1 is a text line for TCP: a target that takes UDP needs version 2.</summary>
    public static void CheckTarget(ProxyProtocolVersion version, bool targetUdp, string what)
    {
        if (version == ProxyProtocolVersion.V1 && targetUdp)
        {
            throw new ConfigException($"{what}: v1 carries TCP only; a target that takes UDP needs v2");
        }
    }
}
