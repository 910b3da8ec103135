// Which HTTP proxy the agent reaches its relay through: --proxy (or the file's proxy:), else the usual
// HTTPS_PROXY unless NO_PROXY names the relay's host, as curl reads them.
using Gray.Hosting;
using Gray.Net;

namespace Gray.Cli;

internal static class ProxySettings
{
    /// <summary>The proxy for <paramref name="relayHost"/>, or null to connect directly.
    /// <paramref name="given"/> "direct" turns the environment's proxy off.</summary>
    public static HttpConnectProxy? Resolve(string? given, string relayHost, Func<string, string?> variable)
    {
        if (given is "direct") return null;
        if (given is not null) return Parse(given, "--proxy");
        string? fromEnvironment = First(variable, "HTTPS_PROXY", "https_proxy");
        if (fromEnvironment is null || Bypassed(relayHost, First(variable, "NO_PROXY", "no_proxy"))) return null;
        return Parse(fromEnvironment, "HTTPS_PROXY");
    }

    public static HttpConnectProxy Parse(string url, string where)
    {
        try
        {
            return HttpConnectProxy.Parse(url);
        }
        catch (FormatException error)
        {
            throw new ConfigException($"{where}: {error.Message}");
        }
    }

    // NO_PROXY: comma-separated hosts or domain suffixes (".example.org" or "example.org"), or "*".
    private static bool Bypassed(string host, string? noProxy)
    {
        var entries = (noProxy ?? "").Split(
            ',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (string entry in entries)
        {
            if (entry == "*") return true;
            string suffix = entry.TrimStart('.');
            if (host.Equals(suffix, StringComparison.OrdinalIgnoreCase)
                || host.EndsWith("." + suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string? First(Func<string, string?> variable, params string[] names) =>
        names.Select(variable).FirstOrDefault(v => !string.IsNullOrEmpty(v));
}
