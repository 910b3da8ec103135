// Text that came from a peer or from outside the process, made safe for a log line: control characters
// (CR, LF, ESC and the rest of C0 and C1, and Unicode's direction overrides) become visible escapes, so
// that nobody can forge log lines or drive a terminal; long text is cut.
using System.Globalization;
using System.Text;

namespace Gray.Hosting;

public static class LogText
{
    /// <summary>Longest text kept, in characters; the rest becomes "…".</summary>
    public const int MaxChars = 256;

    public static string Escape(string? text)
    {
        if (text is null) return "";
        bool clean = text.Length <= MaxChars;
        foreach (char c in text)
        {
            if (!clean) break;
            clean = !NeedsEscape(c);
        }

        if (clean) return text;
        var escaped = new StringBuilder(Math.Min(text.Length, MaxChars) + 16);
        foreach (char c in text.AsSpan(0, Math.Min(text.Length, MaxChars)))
        {
            if (NeedsEscape(c))
            {
                escaped.Append(c <= 0xFF ? $"\\x{(int)c:X2}" : $"\\u{(int)c:X4}");
            }
            else
            {
                escaped.Append(c);
            }
        }

        if (text.Length > MaxChars) escaped.Append('…');
        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
