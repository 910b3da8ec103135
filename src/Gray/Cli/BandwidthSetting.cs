// Bandwidth settings: rates like 10MB (per second; KB, MB and GB count in 1024s, as frp's do), each way,
// for a server's clients together and for each client address.
using System.Globalization;
using Gray.Hosting;
using Gray.Relay;

namespace Gray.Cli;

internal static class BandwidthSetting
{
    /// <summary>The keys under bandwidth:.</summary>
    public static readonly string[] Keys = ["in", "out", "per_client_in", "per_client_out"];

    /// <summary><paramref name="bandwidth"/> with one key set from its text.</summary>
    public static Bandwidth With(Bandwidth bandwidth, string key, string text, string what)
    {
        long rate = ParseRate(text, what);
        return key switch
        {
            "in" => bandwidth with { In = rate },
            "out" => bandwidth with { Out = rate },
            "per_client_in" => bandwidth with { PerClientIn = rate },
            "per_client_out" => bandwidth with { PerClientOut = rate },
            _ => throw new ConfigException($"unknown setting '{what}' (bandwidth takes {string.Join(", ", Keys)})"),
        };
    }

    /// <summary>Bytes per second from "10MB", "512KB", "1.5GB", "2000" or "off" (0: no limit).</summary>
    public static long ParseRate(string text, string what)
    {
        string value = text.Trim();
        if (value.EndsWith("/s", StringComparison.OrdinalIgnoreCase)) value = value[..^2];
        if (value is "off" or "none") return 0;
        int unitAt = value.Length;
        while (unitAt > 0 && char.IsLetter(value[unitAt - 1])) unitAt--;
        long scale = value[unitAt..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1024,
            "M" or "MB" or "MIB" => 1024 * 1024,
            "G" or "GB" or "GIB" => 1024 * 1024 * 1024,
            _ => 0,
        };
        const NumberStyles number = NumberStyles.AllowDecimalPoint | NumberStyles.AllowTrailingWhite;
        if (scale == 0 || !double.TryParse(value[..unitAt], number, CultureInfo.InvariantCulture, out double amount)
            || amount * scale > long.MaxValue / 2)
        {
            throw new ConfigException($"{what}: '{RelaySettings.Shorten(text)}' is not a rate (10MB, 512KB, 1GB, " +
                "a number of bytes, or off)");
        }

        return (long)(amount * scale);
    }

    /// <summary>A rate as people write it: "10 MB/s", or "none".</summary>
    public static string Format(long bytesPerSecond) => bytesPerSecond switch
    {
        <= 0 => "none",
        >= 1024 * 1024 * 1024 when bytesPerSecond % (1024 * 1024 * 1024) == 0 =>
            $"{bytesPerSecond / (1024 * 1024 * 1024)} GB/s",
        >= 1024 * 1024 when bytesPerSecond % (1024 * 1024) == 0 => $"{bytesPerSecond / (1024 * 1024)} MB/s",
        >= 1024 when bytesPerSecond % 1024 == 0 => $"{bytesPerSecond / 1024} KB/s",
        _ => $"{bytesPerSecond} B/s",
    };
}
