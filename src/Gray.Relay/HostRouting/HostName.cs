// The host names servers claim on the relay's shared HTTP and TLS ports: exact DNS names, or a wildcard
// of one level ("*.dev.example.org" matches "a.dev.example.org", not "dev.example.org" nor
// "b.a.dev.example.org"), as frp's custom_domains. Stored and compared in lower case.
namespace Gray.Relay.HostRouting;

public static class HostName
{
    /// <summary>Longest DNS name, in characters (without the root's trailing dot).</summary>
    public const int MaxChars = 253;

    /// <summary>Longest DNS label, in characters.</summary>
    private const int MaxLabelChars = 63;

    private const string WildcardPrefix = "*.";

    /// <summary>
    /// A claim as a server may hold it: lower case, no trailing dot. Throws <see cref="FormatException"/>
    /// saying what is wrong: a wildcard must be "*." followed by at least two labels.
    /// </summary>
    public static string NormalizeClaim(string text)
    {
        string name = text.Trim().TrimEnd('.').ToLowerInvariant();
        bool wildcard = name.StartsWith(WildcardPrefix, StringComparison.Ordinal);
        string rest = wildcard ? name[WildcardPrefix.Length..] : name;
        if (!IsDnsName(rest))
        {
            throw new FormatException($"'{Shorten(text)}' is not a host name (labels of a-z 0-9 -, at most " +
                $"{MaxLabelChars} characters each, {MaxChars} in all; a wildcard is *.NAME)");
        }

        if (wildcard && !rest.Contains('.'))
        {
            throw new FormatException($"'{Shorten(text)}': a wildcard needs at least two labels after *.");
        }

        return name;
    }

    /// <summary>
    /// The name a client asked for (an SNI name, or a Host header without its port), in lower case;
    /// null if it is not a DNS name (an IP address, say, or garbage).
    /// </summary>
    public static string? NormalizeRequest(ReadOnlySpan<char> text)
    {
        if (text.EndsWith(".")) text = text[..^1];
        if (text.Length is 0 or > MaxChars) return null;
        Span<char> lower = stackalloc char[text.Length];
        text.ToLowerInvariant(lower);
        return IsDnsName(lower) ? new string(lower) : null; // one string, and only for a name
    }

    // Labels of a-z 0-9 -, none empty, none starting or ending with '-'; read in place (every request and
    // TLS connection passes here).
    private static bool IsDnsName(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxChars) return false;
        bool letters = false; // all digits and dots is an IPv4 address, not a name
        foreach (var range in name.Split('.'))
        {
            var label = name[range];
            if (label.Length is 0 or > MaxLabelChars || label[0] == '-' || label[^1] == '-') return false;
            foreach (char c in label)
            {
                if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')) return false;
                letters |= c is not (>= '0' and <= '9');
            }
        }

        return letters;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
