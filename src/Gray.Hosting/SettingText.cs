// Parsing and printing of setting values shared by the relay's and the agent's configuration:
// durations, endpoints and log levels. Errors are ConfigExceptions that name the setting.
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Hosting;

public static class SettingText
{
    /// <summary>ADDRESS:PORT; with <paramref name="anyPort"/>, port 0 lets the system choose.</summary>
    public static IPEndPoint ParseEndPoint(string text, string what, bool anyPort = false) =>
        IPEndPoint.TryParse(text, out var endPoint) && endPoint.Port is >= 0 and <= 65535
            && (anyPort || endPoint.Port > 0)
            ? endPoint
            : throw new ConfigException($"{what}: '{text}' is not ADDRESS:PORT");

    /// <summary>Durations like 500ms, 10s, 2m, 1h; a bare number is seconds.</summary>
    /// <summary>Longest duration a setting may have: timers cannot wait longer than about 49 days.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(30);

    public static TimeSpan ParseDuration(string text, string what)
    {
        text = text.Trim();
        (string number, double scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1)
            : text.EndsWith('m') ? (text[..^1], 60)
            : text.EndsWith('h') ? (text[..^1], 3600)
            : (text, 1);
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0)
        {
            return value * scale <= MaxDuration.TotalSeconds
                ? TimeSpan.FromSeconds(value * scale)
                : throw new ConfigException($"{what}: '{text}' is longer than {MaxDuration.TotalDays:0} days");
        }

        throw new ConfigException($"{what}: '{text}' is not a duration such as 500ms, 10s, 2m or 1h");
    }

    /// <summary>trace, debug, info, warn, error, critical, none (and .NET's own names).</summary>
    public static LogLevel ParseLogLevel(string text) =>
        Enum.TryParse<LogLevel>(text switch { "info" => "Information", "warn" => "Warning", _ => text },
            ignoreCase: true, out var level)
            && Enum.IsDefined(level)
            ? level
            : throw new ConfigException(
                $"log_level: '{text}' is not one of trace, debug, info, warn, error, critical, none");

    /// <summary>500ms, 10s, 2m (whole seconds when it is whole), or off.</summary>
    public static string FormatDuration(TimeSpan? value) =>
        value is not { } span ? "off"
            : span.TotalMilliseconds % 1000 == 0 ? $"{span.TotalSeconds:0}s"
            : $"{span.TotalMilliseconds:0}ms";

    /// <summary>HOST:PORT, where HOST may be a name or an address ([v6]:port too).</summary>
    public static DnsEndPoint ParseHostPort(string text, string what)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text[(colon + 1)..], out int port) && port is > 0 and <= 65535)
        {
            string host = text[..colon].Trim('[', ']');
            if (host.Length > 0) return new DnsEndPoint(host, port);
        }

        throw new ConfigException($"{what}: '{text}' is not HOST:PORT");
    }
}
